/*
 * router.c - forwarding between the transports of one call.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "packet.h"
#include "srtp_pair.h"
#include "webrtc_transport.h"
#include "router.h"

enum { PLI_INTERVAL_US = 300000 };

struct router {
	struct list producers;
	uint32_t rtcp_ssrc; /* sender SSRC of the router's own RTCP */
	struct router_stats stats;
	uint8_t out[PORT_UDP_MTU + SRTP_PAIR_TRAILER];
};

struct producer {
	struct le le;
	struct router *r;
	struct webrtc_transport *t;
	enum media_kind kind;
	uint32_t ssrc;
	uint8_t pt;
	char codec[WEBRTC_SDP_TOKEN];
	struct list consumers;
	uint64_t last_pli_us, packets;
	bool paused;
};

struct consumer {
	struct le le;
	struct producer *p;
	struct webrtc_transport *t;
	uint32_t ssrc;
	uint8_t pt;
	uint64_t packets;
	bool paused;
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void router_destructor(void *arg)
{
	struct router *r = arg;
	struct le *le;
	/* producers are owned by whoever created them; forget them */
	while ((le = list_head(&r->producers))) {
		struct producer *p = le->data;
		list_unlink(&p->le);
		p->r = NULL;
	}
}

int router_alloc(struct router **rp)
{
	struct router *r;
	if (!rp)
		return EINVAL;
	r = mem_zalloc(sizeof(*r), router_destructor);
	if (!r)
		return ENOMEM;
	if (port_random(&r->rtcp_ssrc, sizeof(r->rtcp_ssrc))) {
		mem_deref(r);
		return EIO;
	}
	*rp = r;
	return 0;
}

void router_stats(const struct router *r, struct router_stats *st)
{
	if (r && st)
		*st = r->stats;
}

static void producer_destructor(void *arg)
{
	struct producer *p = arg;
	struct le *le;
	list_unlink(&p->le);
	/* its consumers stay, idle, until their owners release them */
	while ((le = list_head(&p->consumers))) {
		struct consumer *c = le->data;
		list_unlink(&c->le);
		c->p = NULL;
	}
}

int router_produce(struct producer **pp, struct router *r,
		   struct webrtc_transport *t, enum media_kind kind,
		   uint32_t ssrc, uint8_t pt, const char *codec)
{
	struct producer *p;
	if (!pp || !r || !t || !ssrc || !codec)
		return EINVAL;
	p = mem_zalloc(sizeof(*p), producer_destructor);
	if (!p)
		return ENOMEM;
	p->r = r;
	p->t = t;
	p->kind = kind;
	p->ssrc = ssrc;
	p->pt = pt;
	str_ncpy(p->codec, codec, sizeof(p->codec));
	list_append(&r->producers, &p->le, p);
	*pp = p;
	return 0;
}

enum media_kind producer_kind(const struct producer *p)
{
	return p->kind;
}

const char *producer_codec(const struct producer *p)
{
	return p->codec;
}

const struct webrtc_transport *producer_transport(const struct producer *p)
{
	return p->t;
}

uint64_t producer_packets(const struct producer *p)
{
	return p ? p->packets : 0;
}

struct producer *router_producer_next(const struct router *r,
				      const struct producer *after)
{
	struct le *le;
	if (!r)
		return NULL;
	le = after ? after->le.next : r->producers.head;
	return le ? le->data : NULL;
}

static void consumer_destructor(void *arg)
{
	struct consumer *c = arg;
	list_unlink(&c->le);
}

int router_consume(struct consumer **cp, struct producer *p,
		   struct webrtc_transport *t, uint8_t pt)
{
	struct consumer *c;
	if (!cp || !p || !t)
		return EINVAL;
	c = mem_zalloc(sizeof(*c), consumer_destructor);
	if (!c)
		return ENOMEM;
	c->p = p;
	c->t = t;
	c->pt = pt;
	do {
		if (port_random(&c->ssrc, sizeof(c->ssrc))) {
			mem_deref(c);
			return EIO;
		}
	} while (!c->ssrc);
	list_append(&p->consumers, &c->le, c);
	*cp = c;
	producer_request_keyframe(p);
	return 0;
}

uint32_t consumer_ssrc(const struct consumer *c)
{
	return c ? c->ssrc : 0;
}

uint64_t consumer_packets(const struct consumer *c)
{
	return c ? c->packets : 0;
}

void producer_request_keyframe(struct producer *p)
{
	struct router *r = p ? p->r : NULL;
	uint64_t now = port_now_us();
	uint8_t *b;

	if (!r || p->kind != MEDIA_VIDEO ||
	    (p->last_pli_us && now - p->last_pli_us < PLI_INTERVAL_US))
		return;
	p->last_pli_us = now;
	/* RFC 4585 6.3.1: PSFB, FMT 1, length 2 words */
	b = r->out;
	b[0] = 0x81;
	b[1] = 206;
	b[2] = 0;
	b[3] = 2;
	put32(b + 4, r->rtcp_ssrc);
	put32(b + 8, p->ssrc);
	if (webrtc_transport_send(p->t, b, 12, sizeof(r->out), true))
		r->stats.send_errors++;
	else
		r->stats.pli_sent++;
}

void producer_set_paused(struct producer *p, bool paused)
{
	if (p)
		p->paused = paused;
}

void consumer_set_paused(struct consumer *c, bool paused)
{
	if (!c)
		return;
	if (c->paused && !paused && c->p) {
		/* a receiver starting now needs its keyframe now */
		c->p->last_pli_us = 0;
		producer_request_keyframe(c->p);
	}
	c->paused = paused;
}

static struct producer *producer_of(struct router *r,
				    const struct webrtc_transport *t,
				    uint32_t ssrc)
{
	for (struct le *le = r->producers.head; le; le = le->next) {
		struct producer *p = le->data;
		if (p->ssrc == ssrc && p->t == t)
			return p;
	}
	return NULL;
}

static struct consumer *consumer_of(struct router *r,
				    const struct webrtc_transport *t,
				    uint32_t ssrc)
{
	for (struct le *pl = r->producers.head; pl; pl = pl->next) {
		struct producer *p = pl->data;
		for (struct le *cl = p->consumers.head; cl; cl = cl->next) {
			struct consumer *c = cl->data;
			if (c->ssrc == ssrc && c->t == t)
				return c;
		}
	}
	return NULL;
}

static void forward(struct router *r, struct producer *p,
		    const struct rtp_view *v)
{
	const size_t n = 12 + v->payload_len;
	uint8_t *o = r->out;

	if (n + SRTP_PAIR_TRAILER > sizeof(r->out))
		return;
	for (struct le *le = p->consumers.head; le; le = le->next) {
		struct consumer *c = le->data;
		if (c->paused)
			continue;
		/* header without CSRCs and extensions, then the payload */
		o[0] = 0x80;
		o[1] = (uint8_t)((v->marker << 7) | (c->pt & 0x7f));
		o[2] = (uint8_t)(v->seq >> 8);
		o[3] = (uint8_t)v->seq;
		put32(o + 4, v->ts);
		put32(o + 8, c->ssrc);
		memcpy(o + 12, v->payload, v->payload_len);
		if (webrtc_transport_send(c->t, o, n, sizeof(r->out), false)) {
			r->stats.send_errors++;
			continue;
		}
		c->packets++;
		r->stats.rtp_forwarded++;
		r->stats.bytes_forwarded += n;
	}
}

/* Reads a compound RTCP packet for keyframe requests about our streams. */
static void on_rtcp(struct router *r, struct webrtc_transport *t,
		    const uint8_t *b, size_t len)
{
	r->stats.rtcp_in++;
	while (len >= 4) {
		size_t plen = ((size_t)be16(b + 2) + 1) * 4;
		uint8_t fmt = b[0] & 0x1f, pt = b[1];
		if ((b[0] >> 6) != 2 || plen > len) {
			r->stats.drop_malformed++;
			return;
		}
		if (pt == 206 && (fmt == 1 || fmt == 4) && plen >= 12) {
			/* PLI names the stream in "media SSRC"; FIR in its
			 * FCI entry */
			uint32_t ssrc = fmt == 1 || plen < 20 ? be32(b + 8)
							      : be32(b + 12);
			struct consumer *c = consumer_of(r, t, ssrc);
			if (c && c->p)
				producer_request_keyframe(c->p);
		}
		b += plen;
		len -= plen;
	}
}

void router_packet(struct router *r, struct webrtc_transport *t, uint8_t *buf,
		   size_t len, size_t size, bool rtcp)
{
	struct rtp_view v;
	struct producer *p;
	(void)size;

	if (!r || !t || !buf)
		return;
	if (rtcp) {
		on_rtcp(r, t, buf, len);
		return;
	}
	r->stats.rtp_in++;
	if (rtp_view_parse(&v, buf, len)) {
		r->stats.drop_malformed++;
		return;
	}
	p = producer_of(r, t, v.ssrc);
	if (!p) {
		/* RTX, FEC and streams nobody asked for */
		r->stats.drop_unknown_ssrc++;
		return;
	}
	p->packets++;
	if (!p->paused)
		forward(r, p, &v);
}
