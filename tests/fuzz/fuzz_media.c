/* Participants' media:* requests as the call code hands them to the media
 * door, on this process's SFU (media_local over one media worker): an
 * input is lines "<event digit><user digit><JSON data>", run in order on
 * one call, then every participant leaves and the call's media goes. The
 * events are the protocol's (get-capabilities, offer, and
 * mediasoup-client's); every request gets exactly one answer, before it
 * returns (the door's promise). Ids are random, so "$T" and "$P" in the
 * data stand for the last transport and producer made. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "media.h"
#include "media_local.h"
#include "media_workers.h"

static const char *const events[] = {
	"media:get-capabilities", "media:offer",
	"media:create-transport", "media:connect-transport",
	"media:produce",          "media:consume",
	"media:resume-consumer",  "media:pause-producer",
	"media:resume-producer",  "media:set-preferred-layers",
};
static const char *const users[] = {"ana", "ben", "cleo"};

static struct media_workers *mw;
static struct media *media;

/* The ids the data's "$T" and "$P" stand for, and the answers seen. */
struct state {
	char transport[64], producer[64];
	int answers;
};

static void answer_h(const struct media_answer *a, void *arg)
{
	struct state *st = arg;
	const cJSON *id = a->err ? NULL : cJSON_GetObjectItem(a->reply, "id");
	st->answers++;
	if (!cJSON_IsString(id))
		return;
	/* a transport's answer has iceParameters, a producer's not */
	str_ncpy(cJSON_GetObjectItem(a->reply, "iceParameters") ? st->transport
								: st->producer,
		 id->valuestring, sizeof(st->transport));
}

/* line with "$T" and "$P" replaced, into out (NUL-terminated). */
static size_t expand(const struct state *st, const char *line, size_t len,
		     char *out, size_t size)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < size; i++) {
		const char *id = NULL;
		if (line[i] == '$' && i + 1 < len && line[i + 1] == 'T')
			id = st->transport;
		else if (line[i] == '$' && i + 1 < len && line[i + 1] == 'P')
			id = st->producer;
		if (!id) {
			out[n++] = line[i];
			continue;
		}
		for (; *id && n + 1 < size; id++)
			out[n++] = *id;
		i++;
	}
	out[n] = '\0';
	return n;
}

static void left_h(const cJSON *ids, void *arg)
{
	(void)ids;
	(void)arg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sa laddr;
	struct media_workers_config cfg = {1, &laddr, NULL};
	(void)argc;
	(void)argv;
	if (libre_init() || sa_set_str(&laddr, "127.0.0.1", 0) ||
	    media_workers_alloc(&mw, &cfg, NULL, NULL) ||
	    media_local_alloc(&media, mw, "node-fuzz"))
		abort();
	return 0;
}

/* One line: its request, answered once before it returns. */
static void request(struct media_call *mc, struct state *st, const char *line,
		    size_t len)
{
	static char text[8192];
	const char *event, *user;
	cJSON *data;
	int before = st->answers;
	size_t n;

	if (len < 2 || line[0] < '0' || line[0] > '9' || line[1] < '0' ||
	    line[1] > '2')
		return;
	event = events[line[0] - '0'];
	user = users[line[1] - '0'];
	n = expand(st, line + 2, len - 2, text, sizeof(text));
	data = cJSON_ParseWithLength(text, n);
	if (!media_call_request(mc, user, event, data, answer_h, st) &&
	    st->answers != before + 1)
		abort();
	cJSON_Delete(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct media_call *mc = NULL;
	struct state st = {"", "", 0};

	if (media_call_open(&mc, media, "call-fuzz", 3, NULL))
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		request(mc, &st, p, len);
		p += len + 1;
	}
	for (size_t i = 0; i < 3; i++)
		(void)media_call_leave(mc, users[i], left_h, NULL);
	mem_deref(mc);
	return 0;
}
