/*
 * codecs.c - the one codec table. Opus, VP8 and H264 (constrained
 * baseline, packetization mode 1) with payload types 100, 101 and 103
 * towards consumers, the video ones repaired by RTX on 102 and 104.
 */
#include <string.h>
#include <cjson/cJSON.h>
#include <re.h>
#include "codecs.h"

const struct media_codec media_codecs[] = {
	{"audio/opus", "opus", MEDIA_AUDIO, 100, 0, 48000, 2,
	 "{\"useinbandfec\":1,\"usedtx\":1}"},
	{"video/VP8", "VP8", MEDIA_VIDEO, 101, 102, 90000, 0,
	 "{\"x-google-start-bitrate\":1000}"},
	{"video/H264", "H264", MEDIA_VIDEO, 103, 104, 90000, 0,
	 "{\"packetization-mode\":1,\"profile-level-id\":\"42e01f\","
	 "\"level-asymmetry-allowed\":1}"},
};
const size_t media_codecs_count = ARRAY_SIZE(media_codecs);

const struct media_codec *media_codec_by_mime(const char *mime)
{
	for (size_t i = 0; mime && i < media_codecs_count; i++)
		if (!str_casecmp(mime, media_codecs[i].mime))
			return &media_codecs[i];
	return NULL;
}

const struct media_codec *media_codec_first(enum media_kind kind)
{
	for (size_t i = 0; i < media_codecs_count; i++)
		if (media_codecs[i].kind == kind)
			return &media_codecs[i];
	return NULL;
}

/* What the router asks of senders: transport-wide feedback from every
 * one (their bandwidth estimate needs it), and for video the repair and
 * keyframe requests it answers and its receivers' estimate (REMB). */
static const char *const audio_feedback[][2] = {{"transport-cc", ""}};
static const char *const video_feedback[][2] = {
	{"nack", ""},      {"nack", "pli"},      {"ccm", "fir"},
	{"goog-remb", ""}, {"transport-cc", ""},
};

static cJSON *feedback_json(enum media_kind kind)
{
	const char *const(*fb)[2] =
		kind == MEDIA_VIDEO ? video_feedback : audio_feedback;
	size_t n = kind == MEDIA_VIDEO ? ARRAY_SIZE(video_feedback)
				       : ARRAY_SIZE(audio_feedback);
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", fb[i][0]);
		cJSON_AddStringToObject(o, "parameter", fb[i][1]);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *codec_json(const char *kind, const char *mime, uint8_t pt,
			 uint32_t clock_rate, cJSON *parameters)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", kind);
	cJSON_AddStringToObject(o, "mimeType", mime);
	cJSON_AddNumberToObject(o, "preferredPayloadType", pt);
	cJSON_AddNumberToObject(o, "clockRate", clock_rate);
	cJSON_AddItemToObject(o, "parameters", parameters);
	return o;
}

cJSON *media_codec_capability(const struct media_codec *c)
{
	cJSON *o =
		codec_json(c->kind == MEDIA_VIDEO ? "video" : "audio", c->mime,
			   c->pt, c->clock_rate, cJSON_Parse(c->parameters));
	if (c->channels)
		cJSON_AddNumberToObject(o, "channels", c->channels);
	cJSON_AddItemToObject(o, "rtcpFeedback", feedback_json(c->kind));
	return o;
}

cJSON *media_codecs_json(void)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < media_codecs_count; i++) {
		const struct media_codec *c = &media_codecs[i];
		cJSON *o, *apt;
		cJSON_AddItemToArray(a, media_codec_capability(c));
		if (!c->rtx_pt)
			continue;
		apt = cJSON_CreateObject();
		cJSON_AddNumberToObject(apt, "apt", c->pt);
		o = codec_json("video", "video/rtx", c->rtx_pt, c->clock_rate,
			       apt);
		cJSON_AddItemToObject(o, "rtcpFeedback", cJSON_CreateArray());
		cJSON_AddItemToArray(a, o);
	}
	return a;
}
