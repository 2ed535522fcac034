/*
 * router.c - forwarding between the transports of one call.
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "packet.h"
#include "srtp_pair.h"
#include "router.h"

enum {
	PLI_INTERVAL_US = 300000,
	RING_SIZE = 256,    /* video packets kept for NACK: ~1.5 s at HD */
	RING_PAYLOAD = 1200,
};

/* A forwarded packet as it came, for retransmission. */
struct ring_slot {
	bool used;
	uint8_t marker;
	uint16_t seq, len;
	uint32_t ts;
	uint8_t payload[RING_PAYLOAD];
};

struct router {
	router_send_h *sendh;
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
	struct ring_slot *ring; /* video only */
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

int router_alloc(struct router **rp, router_send_h *sendh)
{
	struct router *r;
	if (!rp || !sendh)
		return EINVAL;
	r = mem_zalloc(sizeof(*r), router_destructor);
	if (!r)
		return ENOMEM;
	r->sendh = sendh;
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
	mem_deref(p->ring);
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
	if (kind == MEDIA_VIDEO) {
		p->ring = mem_zalloc(RING_SIZE * sizeof(*p->ring), NULL);
		if (!p->ring) {
			mem_deref(p);
			return ENOMEM;
		}
	}
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
	if (r->sendh(p->t, b, 12, sizeof(r->out), true))
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

/* One packet to one consumer: its SSRC and payload type, a header
 * without CSRCs and extensions, then the payload. */
static int send_rtp(struct router *r, struct consumer *c, uint16_t seq,
		    uint32_t ts, uint8_t marker, const uint8_t *payload,
		    size_t len)
{
	const size_t n = 12 + len;
	uint8_t *o = r->out;

	if (n + SRTP_PAIR_TRAILER > sizeof(r->out))
		return EMSGSIZE;
	o[0] = 0x80;
	o[1] = (uint8_t)((marker << 7) | (c->pt & 0x7f));
	o[2] = (uint8_t)(seq >> 8);
	o[3] = (uint8_t)seq;
	put32(o + 4, ts);
	put32(o + 8, c->ssrc);
	memcpy(o + 12, payload, len);
	if (r->sendh(c->t, o, n, sizeof(r->out), false)) {
		r->stats.send_errors++;
		return EIO;
	}
	c->packets++;
	r->stats.rtp_forwarded++;
	r->stats.bytes_forwarded += n;
	return 0;
}

static void forward(struct router *r, struct producer *p,
		    const struct rtp_view *v)
{
	if (p->ring && v->payload_len <= RING_PAYLOAD) {
		struct ring_slot *s = &p->ring[v->seq % RING_SIZE];
		s->used = true;
		s->seq = v->seq;
		s->ts = v->ts;
		s->marker = v->marker;
		s->len = (uint16_t)v->payload_len;
		memcpy(s->payload, v->payload, v->payload_len);
	}
	for (struct le *le = p->consumers.head; le; le = le->next) {
		struct consumer *c = le->data;
		if (!c->paused)
			(void)send_rtp(r, c, v->seq, v->ts, v->marker,
				       v->payload, v->payload_len);
	}
}

/* RFC 4585 6.2.1 generic NACK: each FCI names a lost packet (PID) and
 * which of the 16 after it are lost too (BLP). */
static void on_nack(struct router *r, struct consumer *c, const uint8_t *fci,
		    size_t len)
{
	struct producer *p = c->p;
	for (; len >= 4; fci += 4, len -= 4) {
		uint16_t pid = be16(fci), blp = be16(fci + 2);
		for (int i = -1; i < 16; i++) {
			const struct ring_slot *s;
			uint16_t seq;
			if (i >= 0 && !(blp & (1u << i)))
				continue;
			seq = (uint16_t)(pid + (i + 1));
			r->stats.nack_requested++;
			s = p && p->ring ? &p->ring[seq % RING_SIZE] : NULL;
			if (!s || !s->used || s->seq != seq) {
				r->stats.nack_missed++;
				continue;
			}
			if (!send_rtp(r, c, s->seq, s->ts, s->marker,
				      s->payload, s->len))
				r->stats.nack_resent++;
		}
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
		if (pt == 205 && fmt == 1 && plen >= 16) {
			struct consumer *c = consumer_of(r, t, be32(b + 8));
			if (c && !c->paused)
				on_nack(r, c, b + 12, plen - 12);
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
