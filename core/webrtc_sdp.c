/*
 * webrtc_sdp.c - reading offers and writing answers, line by line with
 * libre's pointer-length strings (no copies while parsing).
 */
#include <errno.h>
#include <string.h>
#include <re.h>
#include "port.h"
#include "webrtc_sdp.h"

struct parser {
	struct webrtc_offer *o;
	struct sdp_media *m; /* current media section, NULL at session level */
	char *why;
	size_t whysize;
};

static int refuse(struct parser *p, const char *msg)
{
	str_ncpy(p->why, msg, p->whysize);
	return EBADMSG;
}

static int bad(struct parser *p, const char *fmt, const struct pl *v)
{
	(void)re_snprintf(p->why, p->whysize, fmt, v);
	return EBADMSG;
}

/* Copies v into dst, refusing values that do not fit. */
static int copy(struct parser *p, char *dst, size_t size, const struct pl *v,
		const char *what)
{
	if (v->l >= size) {
		(void)re_snprintf(p->why, p->whysize,
				  "%s is longer than %zu characters", what,
				  size - 1);
		return EBADMSG;
	}
	pl_strcpy(v, dst, size);
	return 0;
}

static struct sdp_codec *codec_by_pt(struct sdp_media *m, uint32_t pt)
{
	for (size_t i = 0; i < m->ncodecs; i++)
		if (m->codecs[i].pt == pt)
			return &m->codecs[i];
	return NULL;
}

const struct sdp_codec *sdp_media_codec(const struct sdp_media *m,
					const char *name)
{
	for (size_t i = 0; m && i < m->ncodecs; i++)
		if (!str_casecmp(m->codecs[i].name, name))
			return &m->codecs[i];
	return NULL;
}

static int media_line(struct parser *p, const struct pl *v)
{
	struct pl kind, port, proto, fmts, f;
	struct sdp_media *m;

	if (re_regex(v->p, v->l, "[a-z]+ [0-9]+[^ ]* [^ ]+ [^]*", &kind, &port,
		     NULL, &proto, &fmts))
		return bad(p, "m= line '%r' is not 'kind port proto formats'",
			   v);
	if (p->o->nmedia >= WEBRTC_SDP_MAX_MEDIA) {
		(void)re_snprintf(p->why, p->whysize, "more than %d m= lines",
				  WEBRTC_SDP_MAX_MEDIA);
		return EBADMSG;
	}
	m = &p->o->media[p->o->nmedia++];
	memset(m, 0, sizeof(*m));
	p->m = m;
	if (copy(p, m->kind_name, sizeof(m->kind_name), &kind, "m= kind") ||
	    copy(p, m->proto, sizeof(m->proto), &proto, "m= protocol"))
		return EBADMSG;
	m->kind = !pl_strcmp(&kind, "video") ? MEDIA_VIDEO : MEDIA_AUDIO;
	m->rejected =
		pl_u32(&port) == 0 ||
		(pl_strcmp(&kind, "audio") && pl_strcmp(&kind, "video")) ||
		pl_strcmp(&proto, "UDP/TLS/RTP/SAVPF");
	/* formats: payload types, in preference order */
	while (!re_regex(fmts.p, fmts.l, "[^ ]+", &f)) {
		if (!m->first_fmt[0])
			(void)copy(p, m->first_fmt, sizeof(m->first_fmt), &f,
				   "format");
		if (!m->rejected && m->ncodecs < WEBRTC_SDP_MAX_CODECS) {
			uint32_t pt = pl_u32(&f);
			if (pt > 127)
				return bad(p, "payload type %r is not 0-127",
					   &f);
			m->codecs[m->ncodecs].pt = (uint8_t)pt;
			m->codecs[m->ncodecs].apt = -1;
			m->ncodecs++;
		}
		fmts.l -= (size_t)(f.p + f.l - fmts.p);
		fmts.p = f.p + f.l;
	}
	return 0;
}

/* Attributes, one handler each. Transport ones may be at session or media
 * level (the first one wins); the others describe the current m= section
 * (p->m, not rejected). */

static int attr_ice_ufrag(struct parser *p, const struct pl *name,
			  const struct pl *val)
{
	struct webrtc_offer *o = p->o;
	return o->ice_ufrag[0] ? 0
			       : copy(p, o->ice_ufrag, sizeof(o->ice_ufrag),
				      val, "ice-ufrag");
}

static int attr_ice_pwd(struct parser *p, const struct pl *name,
			const struct pl *val)
{
	struct webrtc_offer *o = p->o;
	return o->ice_pwd[0] ? 0
			     : copy(p, o->ice_pwd, sizeof(o->ice_pwd), val,
				    "ice-pwd");
}

static int attr_setup(struct parser *p, const struct pl *name,
		      const struct pl *val)
{
	struct webrtc_offer *o = p->o;
	return o->setup[0] ? 0
			   : copy(p, o->setup, sizeof(o->setup), val, "setup");
}

static int attr_fingerprint(struct parser *p, const struct pl *name,
			    const struct pl *val)
{
	struct webrtc_offer *o = p->o;
	struct pl hash, value;
	if (re_regex(val->p, val->l, "[^ ]+ [^ ]+", &hash, &value))
		return bad(p, "fingerprint '%r' is not 'hash value'", val);
	if (pl_strcasecmp(&hash, "sha-256") || o->fingerprint[0])
		return 0;
	return copy(p, o->fingerprint, sizeof(o->fingerprint), &value,
		    "fingerprint");
}

static int attr_mid(struct parser *p, const struct pl *name,
		    const struct pl *val)
{
	return copy(p, p->m->mid, sizeof(p->m->mid), val, "mid");
}

static int attr_direction(struct parser *p, const struct pl *name,
			  const struct pl *val)
{
	p->m->dir = !pl_strcmp(name, "sendrecv")   ? DIR_SENDRECV
		    : !pl_strcmp(name, "sendonly") ? DIR_SENDONLY
		    : !pl_strcmp(name, "recvonly") ? DIR_RECVONLY
						   : DIR_INACTIVE;
	return 0;
}

static int attr_rtpmap(struct parser *p, const struct pl *name,
		       const struct pl *val)
{
	struct pl pt, codec, clock, ch;
	struct sdp_codec *cd;
	clock.l = 0;
	if (re_regex(val->p, val->l, "[0-9]+ [^/]+/[0-9]+[/]*[0-9]*", &pt,
		     &codec, &clock, NULL, NULL))
		return bad(p, "rtpmap '%r' is not 'pt name/clock'", val);
	cd = codec_by_pt(p->m, pl_u32(&pt));
	if (!cd)
		return 0; /* not in the m= line: ignored */
	if (copy(p, cd->name, sizeof(cd->name), &codec, "codec name"))
		return EBADMSG;
	cd->clock = pl_u32(&clock);
	cd->channels = 1;
	if (!re_regex(val->p, val->l, "/[0-9]+/[0-9]+", NULL, &ch))
		cd->channels = (uint8_t)pl_u32(&ch);
	return 0;
}

static int attr_fmtp(struct parser *p, const struct pl *name,
		     const struct pl *val)
{
	struct pl pt, params, apt;
	struct sdp_codec *cd;
	if (re_regex(val->p, val->l, "[0-9]+ [^]+", &pt, &params))
		return 0;
	cd = codec_by_pt(p->m, pl_u32(&pt));
	if (!cd)
		return 0;
	if (!re_regex(params.p, params.l, "apt=[0-9]+", &apt))
		cd->apt = (int)pl_u32(&apt);
	return copy(p, cd->fmtp, sizeof(cd->fmtp), &params, "fmtp");
}

static int attr_rtcp_fb(struct parser *p, const struct pl *name,
			const struct pl *val)
{
	struct pl pt, type, param;
	struct sdp_codec *cd;
	param.l = 0;
	if (re_regex(val->p, val->l, "[^ ]+ [^ ]+[ ]*[^ ]*", &pt, &type, NULL,
		     &param))
		return 0;
	cd = codec_by_pt(p->m, pl_u32(&pt));
	if (!cd)
		return 0;
	if (!pl_strcmp(&type, "nack") && !param.l)
		cd->nack = true;
	else if (!pl_strcmp(&type, "nack") && !pl_strcmp(&param, "pli"))
		cd->nack_pli = true;
	else if (!pl_strcmp(&type, "ccm") && !pl_strcmp(&param, "fir"))
		cd->ccm_fir = true;
	else if (!pl_strcmp(&type, "goog-remb"))
		cd->remb = true;
	else if (!pl_strcmp(&type, "transport-cc"))
		cd->transport_cc = true;
	return 0;
}

static int attr_extmap(struct parser *p, const struct pl *name,
		       const struct pl *val)
{
	struct sdp_media *m = p->m;
	struct pl id, uri;
	if (re_regex(val->p, val->l, "[0-9]+[^ ]* [^ ]+", &id, NULL, &uri))
		return bad(p, "extmap '%r' is not 'id uri'", val);
	if (m->nexts >= WEBRTC_SDP_MAX_EXT || pl_u32(&id) > 255)
		return 0;
	m->exts[m->nexts].id = (uint8_t)pl_u32(&id);
	if (copy(p, m->exts[m->nexts].uri, sizeof(m->exts[m->nexts].uri), &uri,
		 "extmap uri"))
		return EBADMSG;
	m->nexts++;
	return 0;
}

static int attr_ssrc_group(struct parser *p, const struct pl *name,
			   const struct pl *val)
{
	struct pl ssrc, rtx;
	if (!re_regex(val->p, val->l, "FID [0-9]+ [0-9]+", &ssrc, &rtx)) {
		p->m->ssrc = pl_u32(&ssrc);
		p->m->rtx_ssrc = pl_u32(&rtx);
	}
	return 0;
}

static int attr_ssrc(struct parser *p, const struct pl *name,
		     const struct pl *val)
{
	struct pl ssrc;
	if (!re_regex(val->p, val->l, "[0-9]+", &ssrc) && !p->m->ssrc)
		p->m->ssrc = pl_u32(&ssrc);
	return 0;
}

static int attr_msid(struct parser *p, const struct pl *name,
		     const struct pl *val)
{
	return copy(p, p->m->msid, sizeof(p->m->msid), val, "msid");
}

typedef int(attr_h)(struct parser *p, const struct pl *name,
		    const struct pl *val);

static const struct {
	const char *name;
	attr_h *h;
	bool media; /* of an m= section: ignored outside one */
} attrs[] = {
	{"ice-ufrag", attr_ice_ufrag, false},
	{"ice-pwd", attr_ice_pwd, false},
	{"setup", attr_setup, false},
	{"fingerprint", attr_fingerprint, false},
	{"mid", attr_mid, true},
	{"sendrecv", attr_direction, true},
	{"sendonly", attr_direction, true},
	{"recvonly", attr_direction, true},
	{"inactive", attr_direction, true},
	{"rtpmap", attr_rtpmap, true},
	{"fmtp", attr_fmtp, true},
	{"rtcp-fb", attr_rtcp_fb, true},
	{"extmap", attr_extmap, true},
	{"ssrc-group", attr_ssrc_group, true},
	{"ssrc", attr_ssrc, true},
	{"msid", attr_msid, true},
};

static int attribute(struct parser *p, const struct pl *name,
		     const struct pl *val)
{
	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++) {
		if (pl_strcmp(name, attrs[i].name))
			continue;
		if (attrs[i].media && (!p->m || p->m->rejected))
			return 0;
		return attrs[i].h(p, name, val);
	}
	return 0;
}

int webrtc_offer_parse(struct webrtc_offer *o, const char *sdp, size_t len,
		       char *why, size_t whysize)
{
	struct parser p = {o, NULL, why, whysize};
	struct pl rest, line;
	int err = 0;

	if (!o || !sdp || !why || !whysize)
		return EINVAL;
	memset(o, 0, sizeof(*o));
	why[0] = '\0';
	rest.p = sdp;
	rest.l = len;
	while (rest.l && !err) {
		const char *nl = memchr(rest.p, '\n', rest.l);
		line.p = rest.p;
		line.l = nl ? (size_t)(nl - rest.p) : rest.l;
		rest.p += line.l + (nl ? 1 : 0);
		rest.l -= line.l + (nl ? 1 : 0);
		if (line.l && line.p[line.l - 1] == '\r')
			line.l--;
		if (line.l < 2 || line.p[1] != '=')
			continue;
		if (line.p[0] == 'm') {
			struct pl v = {line.p + 2, line.l - 2};
			err = media_line(&p, &v);
		} else if (line.p[0] == 'a') {
			struct pl v = {line.p + 2, line.l - 2}, name, val;
			const char *colon = memchr(v.p, ':', v.l);
			name.p = v.p;
			name.l = colon ? (size_t)(colon - v.p) : v.l;
			val.p = colon ? colon + 1 : v.p + v.l;
			val.l = colon ? v.l - name.l - 1 : 0;
			err = attribute(&p, &name, &val);
		}
	}
	if (err)
		return err;
	if (!o->nmedia)
		return refuse(&p, "the offer has no m= line");
	if (!o->ice_ufrag[0] || !o->ice_pwd[0])
		return refuse(&p, "the offer has no ice-ufrag/ice-pwd");
	if (!o->fingerprint[0])
		return refuse(&p, "the offer has no sha-256 fingerprint");
	for (size_t i = 0; i < o->nmedia; i++) {
		if (!o->media[i].rejected && !o->media[i].mid[0])
			return refuse(&p, "an m= line has no a=mid (BUNDLE"
					  " needs it)");
	}
	return 0;
}

static const char *dir_name(enum media_dir d)
{
	switch (d) {
	case DIR_SENDRECV:
		return "sendrecv";
	case DIR_SENDONLY:
		return "sendonly";
	case DIR_RECVONLY:
		return "recvonly";
	default:
		return "inactive";
	}
}

/* Header extensions the SFU keeps (it strips the rest when forwarding). */
static bool ext_kept(const char *uri)
{
	return !strcmp(uri, SDP_EXT_MID) || !strcmp(uri, SDP_EXT_AUDIO_LEVEL) ||
	       !strcmp(uri, SDP_EXT_TWCC) ||
	       !strcmp(uri, SDP_EXT_ABS_SEND_TIME);
}

uint8_t sdp_media_ext_id(const struct sdp_media *m, const char *uri)
{
	for (size_t i = 0; m && uri && i < m->nexts; i++)
		if (!strcmp(m->exts[i].uri, uri))
			return m->exts[i].id;
	return 0;
}

static int print_codec(struct mbuf *mb, const struct sdp_codec *c)
{
	int err =
		mbuf_printf(mb, "a=rtpmap:%u %s/%u", c->pt, c->name, c->clock);
	if (c->channels > 1)
		err |= mbuf_printf(mb, "/%u", c->channels);
	err |= mbuf_write_str(mb, "\r\n");
	if (c->fmtp[0])
		err |= mbuf_printf(mb, "a=fmtp:%u %s\r\n", c->pt, c->fmtp);
	if (c->nack)
		err |= mbuf_printf(mb, "a=rtcp-fb:%u nack\r\n", c->pt);
	if (c->nack_pli)
		err |= mbuf_printf(mb, "a=rtcp-fb:%u nack pli\r\n", c->pt);
	if (c->ccm_fir)
		err |= mbuf_printf(mb, "a=rtcp-fb:%u ccm fir\r\n", c->pt);
	if (c->remb)
		err |= mbuf_printf(mb, "a=rtcp-fb:%u goog-remb\r\n", c->pt);
	if (c->transport_cc)
		err |= mbuf_printf(mb, "a=rtcp-fb:%u transport-cc\r\n", c->pt);
	return err;
}

int webrtc_answer_print(struct mbuf *mb, const struct answer_params *a)
{
	uint8_t sid[8];
	const char *fam;
	int err;

	if (!mb || !a || !a->ice_ufrag || !a->ice_pwd || !a->fingerprint ||
	    !a->ip)
		return EINVAL;
	if (port_random(sid, sizeof(sid)))
		return EIO;
	sid[0] &= 0x7f;
	fam = strchr(a->ip, ':') ? "IP6" : "IP4";
	err = mbuf_printf(mb,
			  "v=0\r\no=- %llu 2 IN %s %s\r\ns=-\r\nt=0 0\r\n"
			  "a=ice-lite\r\na=group:BUNDLE",
			  (unsigned long long)(((uint64_t)sid[0] << 24) |
					       ((uint64_t)sid[1] << 16) |
					       ((uint64_t)sid[2] << 8) |
					       sid[3]),
			  fam, a->ip);
	for (size_t i = 0; i < a->nmedia; i++)
		if (a->media[i].codec)
			err |= mbuf_printf(mb, " %s", a->media[i].offer->mid);
	err |= mbuf_write_str(mb, "\r\na=msid-semantic: WMS *\r\n");

	for (size_t i = 0; i < a->nmedia && !err; i++) {
		const struct answer_media *am = &a->media[i];
		const struct sdp_media *om = am->offer;
		if (!am->codec) {
			err |= mbuf_printf(
				mb, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n",
				om->kind_name, om->proto,
				om->first_fmt[0] ? om->first_fmt : "0");
			if (om->mid[0])
				err |= mbuf_printf(mb, "a=mid:%s\r\n", om->mid);
			err |= mbuf_write_str(mb, "a=inactive\r\n");
			continue;
		}
		err |= mbuf_printf(mb,
				   "m=%s %u UDP/TLS/RTP/SAVPF %u\r\n"
				   "c=IN %s %s\r\n"
				   "a=mid:%s\r\n"
				   "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n"
				   "a=fingerprint:sha-256 %s\r\n"
				   "a=setup:%s\r\n"
				   "a=%s\r\na=rtcp-mux\r\na=rtcp-rsize\r\n",
				   om->kind_name, a->port, am->codec->pt, fam,
				   a->ip, om->mid, a->ice_ufrag, a->ice_pwd,
				   a->fingerprint, a->setup, dir_name(am->dir));
		for (size_t k = 0; k < om->nexts; k++)
			if (ext_kept(om->exts[k].uri))
				err |= mbuf_printf(mb, "a=extmap:%u %s\r\n",
						   om->exts[k].id,
						   om->exts[k].uri);
		err |= print_codec(mb, am->codec);
		if (am->send_ssrc &&
		    (am->dir == DIR_SENDONLY || am->dir == DIR_SENDRECV)) {
			err |= mbuf_printf(mb,
					   "a=msid:%s\r\n"
					   "a=ssrc:%u cname:meeshy-sfu\r\n"
					   "a=ssrc:%u msid:%s\r\n",
					   am->send_msid, am->send_ssrc,
					   am->send_ssrc, am->send_msid);
		}
		err |= mbuf_printf(mb,
				   "a=candidate:1 1 udp 2130706431 %s %u typ"
				   " host\r\na=end-of-candidates\r\n",
				   a->ip, a->port);
	}
	return err;
}
