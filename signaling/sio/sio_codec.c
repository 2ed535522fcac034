/*
 * sio_codec.c - Socket.IO v5 packets as text (sio.h's codec): type, for a
 * binary packet the count of attachments and '-', the namespace and ',',
 * the ack id, the JSON data.
 */
#include <errno.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "sio.h"

void sio_packet_reset(struct sio_packet *pkt)
{
	if (!pkt)
		return;
	cJSON_Delete(pkt->data);
	pkt->data = NULL;
}

static bool is_binary(enum sio_packet_type type)
{
	return type == SIO_BINARY_EVENT || type == SIO_BINARY_ACK;
}

/* A binary packet's "<count>-"; returns where it ends, or len + 1. */
static size_t attachments_decode(struct sio_packet *pkt, const char *p,
				 size_t i, size_t len)
{
	size_t d = 0;
	unsigned n = 0;

	while (i < len && p[i] >= '0' && p[i] <= '9' && d < 6) {
		n = n * 10 + (unsigned)(p[i] - '0');
		i++;
		d++;
	}
	if (!d || i >= len || p[i] != '-' || n > SIO_ATTACHMENTS_MAX)
		return len + 1;
	pkt->attachments = n;
	return i + 1;
}

/* The header after the type: a binary packet's attachment count, the
 * namespace, the ack id. Returns where the payload starts, or len + 1 on
 * a malformed header. */
static size_t header_decode(struct sio_packet *pkt, const char *p, size_t len)
{
	size_t i = 1, d = 0, s;
	int64_t id = 0;

	if (is_binary(pkt->type)) {
		i = attachments_decode(pkt, p, i, len);
		if (i > len)
			return i;
	}
	if (i < len && p[i] == '/') {
		s = i;
		while (i < len && p[i] != ',')
			i++;
		if (i - s >= sizeof(pkt->nsp))
			return len + 1;
		memcpy(pkt->nsp, p + s, i - s);
		pkt->nsp[i - s] = '\0';
		if (i < len)
			i++; /* the comma */
	}
	for (d = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
		if (++d > 15)
			return len + 1;
		id = id * 10 + (p[i] - '0');
	}
	if (d)
		pkt->id = id;
	return i;
}

/* Whether the payload and ack id fit the packet's type. */
static bool payload_fits(const struct sio_packet *pkt)
{
	switch (pkt->type) {
	case SIO_CONNECT:
		return (!pkt->data || cJSON_IsObject(pkt->data)) &&
		       pkt->id == SIO_ACK_NONE;
	case SIO_DISCONNECT:
		return !pkt->data && pkt->id == SIO_ACK_NONE;
	case SIO_EVENT:
	case SIO_BINARY_EVENT:
		return cJSON_IsArray(pkt->data) &&
		       cJSON_IsString(cJSON_GetArrayItem(pkt->data, 0));
	case SIO_ACK:
	case SIO_BINARY_ACK:
		return cJSON_IsArray(pkt->data) && pkt->id != SIO_ACK_NONE;
	case SIO_CONNECT_ERROR:
		return false; /* server to client only */
	}
	return false;
}

int sio_packet_decode(struct sio_packet *pkt, const char *p, size_t len)
{
	const char *end = NULL;
	size_t i;

	if (!pkt || !p)
		return EINVAL;
	memset(pkt, 0, sizeof(*pkt));
	pkt->id = SIO_ACK_NONE;
	str_ncpy(pkt->nsp, "/", sizeof(pkt->nsp));
	if (len == 0 || p[0] < '0' || p[0] > '6')
		return EBADMSG;
	pkt->type = (enum sio_packet_type)(p[0] - '0');
	i = header_decode(pkt, p, len);
	if (i > len)
		return EBADMSG;
	if (i < len) {
		pkt->data = cJSON_ParseWithLengthOpts(p + i, len - i, &end, 0);
		if (!pkt->data || end != p + len) {
			sio_packet_reset(pkt);
			return EBADMSG;
		}
	}
	if (!payload_fits(pkt)) {
		sio_packet_reset(pkt);
		return EBADMSG;
	}
	return 0;
}

int sio_packet_write(struct mbuf *mb, const struct sio_packet *pkt)
{
	char *json = NULL;
	int err;

	if (!mb || !pkt)
		return EINVAL;
	err = mbuf_printf(mb, "%d", (int)pkt->type);
	if (!err && is_binary(pkt->type))
		err = mbuf_printf(mb, "%u-", pkt->attachments);
	if (!err && strcmp(pkt->nsp, "/"))
		err = mbuf_printf(mb, "%s,", pkt->nsp);
	if (!err && pkt->id != SIO_ACK_NONE)
		err = mbuf_printf(mb, "%lld", (long long)pkt->id);
	if (!err && pkt->data) {
		json = cJSON_PrintUnformatted(pkt->data);
		if (!json)
			return ENOMEM;
		err = mbuf_write_str(mb, json);
		cJSON_free(json);
	}
	return err;
}

int sio_packet_encode(struct mbuf *mb, enum sio_packet_type type, int64_t id,
		      const cJSON *data)
{
	struct sio_packet pkt = {type, "/", id, 0, (cJSON *)data};
	return sio_packet_write(mb, &pkt);
}

/* A placeholder object: {"_placeholder":true,"num":i}. */
static bool placeholder_ok(const cJSON *o, size_t n)
{
	const cJSON *num = cJSON_GetObjectItemCaseSensitive(o, "num");
	return cJSON_IsTrue(
		       cJSON_GetObjectItemCaseSensitive(o, "_placeholder")) &&
	       cJSON_IsNumber(num) && num->valuedouble >= 0 &&
	       num->valuedouble < (double)n &&
	       num->valuedouble == (double)(int)num->valuedouble;
}

bool sio_placeholders_valid(const cJSON *data, size_t n)
{
	const cJSON *c;

	if (cJSON_IsObject(data) &&
	    cJSON_GetObjectItemCaseSensitive(data, "_placeholder"))
		return placeholder_ok(data, n);
	if (!cJSON_IsObject(data) && !cJSON_IsArray(data))
		return true;
	/* cJSON's parser bounds the depth (CJSON_NESTING_LIMIT) */
	cJSON_ArrayForEach(c, data)
	{
		if (!sio_placeholders_valid(c, n))
			return false;
	}
	return true;
}
