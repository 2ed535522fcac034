/* The plain-SDP path: a real Chromium offer in, an answer out. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <re.h>
#include "webrtc_sdp.h"
#include "unit.h"

static char offer_text[16384];
static size_t offer_len;

static int setup(void)
{
	FILE *f = fopen(MEESHY_TEST_DATA "/chromium-offer.sdp", "rb");
	if (!f)
		return 1;
	offer_len = fread(offer_text, 1, sizeof(offer_text) - 1, f);
	fclose(f);
	return offer_len == 0;
}

static void test_parse_chromium_offer(void)
{
	static struct webrtc_offer o;
	const struct sdp_codec *vp8, *opus;
	char why[160];

	CU_ASSERT_EQUAL_FATAL(
		webrtc_offer_parse(&o, offer_text, offer_len, why, sizeof(why)),
		0);
	CU_ASSERT_STRING_EQUAL(o.ice_ufrag, "8KzS");
	CU_ASSERT_STRING_EQUAL(o.ice_pwd, "YVW/4NVZxssxAATSSvM3xGrs");
	CU_ASSERT_EQUAL(strlen(o.fingerprint), 95);
	CU_ASSERT_STRING_EQUAL(o.setup, "actpass");
	CU_ASSERT_EQUAL_FATAL(o.nmedia, 2);
	CU_ASSERT_EQUAL(o.media[0].kind, MEDIA_AUDIO);
	CU_ASSERT_STRING_EQUAL(o.media[0].mid, "0");
	CU_ASSERT_EQUAL(o.media[0].dir, DIR_SENDRECV);
	CU_ASSERT_EQUAL(o.media[0].ssrc, 718682733u);
	opus = sdp_media_codec(&o.media[0], "opus");
	CU_ASSERT_PTR_NOT_NULL_FATAL(opus);
	CU_ASSERT_EQUAL(opus->pt, 111);
	CU_ASSERT_EQUAL(opus->clock, 48000);
	CU_ASSERT_EQUAL(opus->channels, 2);
	CU_ASSERT_STRING_EQUAL(opus->fmtp, "minptime=10;useinbandfec=1");
	CU_ASSERT_EQUAL(o.media[1].kind, MEDIA_VIDEO);
	CU_ASSERT_EQUAL(o.media[1].ssrc, 3401893951u);
	CU_ASSERT_EQUAL(o.media[1].rtx_ssrc, 1193743651u);
	vp8 = sdp_media_codec(&o.media[1], "vp8");
	CU_ASSERT_PTR_NOT_NULL_FATAL(vp8);
	CU_ASSERT_EQUAL(vp8->pt, 96);
	CU_ASSERT_TRUE(vp8->nack && vp8->nack_pli && vp8->ccm_fir);
	CU_ASSERT_TRUE(vp8->remb && vp8->transport_cc);
	CU_ASSERT_EQUAL(o.media[1].codecs[1].pt, 97);
	CU_ASSERT_STRING_EQUAL(o.media[1].codecs[1].name, "rtx");
	CU_ASSERT_EQUAL(o.media[1].codecs[1].apt, 96);
	CU_ASSERT_TRUE(o.media[1].nexts >= 10);
}

static void test_answer(void)
{
	static struct webrtc_offer o, back;
	struct answer_params a;
	struct mbuf *mb = mbuf_alloc(4096);
	char why[160], *text;

	CU_ASSERT_EQUAL_FATAL(
		webrtc_offer_parse(&o, offer_text, offer_len, why, sizeof(why)),
		0);
	memset(&a, 0, sizeof(a));
	a.ice_ufrag = "SfuUfrag";
	a.ice_pwd = "SfuPasswordSfuPasswordSfuPasswor";
	a.fingerprint = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:"
			"AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";
	a.setup = "passive";
	a.ip = "127.0.0.1";
	a.port = 40000;
	a.nmedia = 2;
	a.media[0].offer = &o.media[0];
	a.media[0].codec = sdp_media_codec(&o.media[0], "opus");
	a.media[0].dir = DIR_RECVONLY;
	a.media[1].offer = &o.media[1];
	a.media[1].codec = sdp_media_codec(&o.media[1], "VP8");
	a.media[1].dir = DIR_SENDRECV;
	a.media[1].send_ssrc = 12345678;
	str_ncpy(a.media[1].send_msid, "peer-a track-a",
		 sizeof(a.media[1].send_msid));
	CU_ASSERT_EQUAL_FATAL(webrtc_answer_print(mb, &a), 0);
	text = (char *)mb->buf;
	mbuf_write_u8(mb, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "a=ice-lite\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "a=group:BUNDLE 0 1\r\n"));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(text, "m=video 40000 UDP/TLS/RTP/SAVPF 96\r\n"));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(text, "a=ssrc:12345678 msid:peer-a track-a\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(
		text,
		"a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n"));
	/* transport-wide feedback is answered (the SFU sends it), and so are
	 * abs-send-time and goog-remb (the SFU stamps what it sends; the
	 * receiver's estimate comes back), the rest are not */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "a=rtcp-fb:96 transport-cc\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "a=extmap:3 " SDP_EXT_TWCC "\r\n"));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(text, "a=extmap:2 " SDP_EXT_ABS_SEND_TIME "\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "a=rtcp-fb:96 goog-remb\r\n"));
	CU_ASSERT_PTR_NULL(strstr(text, "rtp-hdrext:toffset"));
	CU_ASSERT_EQUAL(sdp_media_ext_id(&o.media[1], SDP_EXT_TWCC), 3);
	CU_ASSERT_EQUAL(sdp_media_ext_id(&o.media[1], "urn:x"), 0);
	/* the answer is itself well-formed SDP for our parser */
	CU_ASSERT_EQUAL(
		webrtc_offer_parse(&back, text, strlen(text), why, sizeof(why)),
		0);
	CU_ASSERT_EQUAL(back.media[0].dir, DIR_RECVONLY);
	CU_ASSERT_EQUAL(back.media[1].ssrc, 12345678);
	CU_ASSERT_STRING_EQUAL(back.setup, "passive");
	/* an IPv6 media port is announced as such */
	mbuf_rewind(mb);
	a.ip = "2001:db8::7";
	CU_ASSERT_EQUAL_FATAL(webrtc_answer_print(mb, &a), 0);
	mbuf_write_u8(mb, 0);
	text = (char *)mb->buf;
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "c=IN IP6 2001:db8::7\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "o=- "));
	CU_ASSERT_PTR_NULL(strstr(text, "IP4"));
	mem_deref(mb);
}

static void test_refused(void)
{
	static struct webrtc_offer o;
	char why[160];
	const char *no_ice = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
			     "a=mid:0\r\na=fingerprint:sha-256 AA\r\n";
	const char *no_mid = "v=0\r\na=ice-ufrag:u\r\na=ice-pwd:p\r\n"
			     "a=fingerprint:sha-256 AA\r\n"
			     "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
	const char *bad_pt = "m=audio 9 UDP/TLS/RTP/SAVPF 300\r\n";
	CU_ASSERT_EQUAL(webrtc_offer_parse(&o, no_ice, strlen(no_ice), why,
					   sizeof(why)),
			EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "the offer has no ice-ufrag/ice-pwd");
	CU_ASSERT_EQUAL(webrtc_offer_parse(&o, no_mid, strlen(no_mid), why,
					   sizeof(why)),
			EBADMSG);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "a=mid"));
	CU_ASSERT_EQUAL(webrtc_offer_parse(&o, bad_pt, strlen(bad_pt), why,
					   sizeof(why)),
			EBADMSG);
	CU_ASSERT_STRING_EQUAL(why, "payload type 300 is not 0-127");
	CU_ASSERT_EQUAL(webrtc_offer_parse(&o, "", 0, why, sizeof(why)),
			EBADMSG);
	/* every prefix of a real offer parses or is refused, never crashes */
	for (size_t n = 0; n < offer_len; n += 7)
		(void)webrtc_offer_parse(&o, offer_text, n, why, sizeof(why));
}

static CU_TestInfo tests[] = {
	{"a Chromium offer", test_parse_chromium_offer},
	{"the answer", test_answer},
	{"offers refused with a reason", test_refused},
	CU_TEST_INFO_NULL,
};

UNIT_MAIN("webrtc_sdp", tests, setup, NULL)
