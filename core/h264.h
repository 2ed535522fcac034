/*
 * h264.h - H264 RTP payloads (RFC 6184): whether a packet starts a key
 * frame (an IDR slice, or SPS ahead of one), looking through STAP-A
 * aggregates and FU-A fragments.
 */
#ifndef MEESHY_CORE_H264_H
#define MEESHY_CORE_H264_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool h264_is_keyframe(const uint8_t *payload, size_t len);

#endif
