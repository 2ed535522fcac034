#!/usr/bin/env python3
"""Writes the hand-made seeds of tests/fuzz/corpus/{stun,router,payload}:
well-formed packets of each kind the harnesses take, so a run starts past
the parsers' first checks. Run from anywhere; it writes next to itself."""
import hashlib
import hmac
import os
import struct
import zlib

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(kind, name, data):
    os.makedirs(os.path.join(HERE, kind), exist_ok=True)
    with open(os.path.join(HERE, kind, name), "wb") as f:
        f.write(data)


def stun_request(user, pwd, nominate):
    """A binding request as a browser sends it: USERNAME, PRIORITY,
    ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY, FINGERPRINT."""
    def attr(t, v):
        pad = (4 - len(v) % 4) % 4
        return struct.pack("!HH", t, len(v)) + v + b"\0" * pad
    tid = bytes(range(12))
    body = attr(0x0006, user.encode()) + attr(0x0024, struct.pack("!I", 0x6e7f00ff))
    body += attr(0x802A, b"\x01" * 8)
    if nominate:
        body += attr(0x0025, b"")
    head = struct.pack("!HHI", 0x0001, len(body) + 24, 0x2112A442) + tid
    mac = hmac.new(pwd.encode(), head + body, hashlib.sha1).digest()
    body += attr(0x0008, mac)
    head = struct.pack("!HHI", 0x0001, len(body) + 8, 0x2112A442) + tid
    crc = (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
    body += attr(0x8028, struct.pack("!I", crc))
    return head + body


def rtp(pt, seq, ts, ssrc, payload, marker=0, exts=()):
    """RTP with one-byte header extensions (id, bytes)."""
    ext = b"".join(bytes([(i << 4) | (len(v) - 1)]) + v for i, v in exts)
    ext += b"\0" * ((4 - len(ext) % 4) % 4)
    x = 1 if exts else 0
    head = struct.pack("!BBHII", 0x80 | (x << 4), (marker << 7) | pt, seq, ts, ssrc)
    if exts:
        head += struct.pack("!HH", 0xBEDE, len(ext) // 4) + ext
    return head + payload


def rtcp(pt, count, body):
    return struct.pack("!BBH", 0x80 | count, pt, (len(body) + 4) // 4 - 1) + body


def record(flags, pkt):
    return bytes([flags, len(pkt)]) + pkt


def main():
    put("stun", "binding-request", stun_request("abcd:efgh", "0123456789abcdefghijkl", True))
    put("stun", "binding-no-nomination", stun_request("abcd:efgh", "wrong-password-0123456", False))

    vp8_key = bytes([0x90, 0x80, 0x12, 0x34]) + bytes([0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a]) + b"\0" * 40
    opus = rtp(111, 1, 960, 0x1111, b"\xfc" + b"\0" * 40, exts=((1, b"\x20"), (3, b"\x00\x01")))
    layers = [rtp(96, 100 + i, 3000, 0x2000 + i, vp8_key, marker=1, exts=((3, b"\x00\x02"),)) for i in range(3)]
    gap = rtp(96, 110, 6000, 0x2001, vp8_key[:4] + b"\0" * 20, exts=((3, b"\x00\x05"),))
    rtx = rtp(97, 7, 6000, 0x3001, struct.pack("!H", 105) + vp8_key[:4] + b"\0" * 10)
    rid = rtp(98, 1, 3000, 0x5000, vp8_key, marker=1, exts=((4, b"h"),))
    h264 = rtp(102, 1, 3000, 0x4444, bytes([0x65, 0x88]) + b"\0" * 30, marker=1)
    sr = rtcp(200, 0, struct.pack("!IIIIII", 0x2000, 1, 2, 3000, 10, 1000))
    rr = rtcp(201, 1, struct.pack("!I", 9) + struct.pack("!IIIIII", 0x9999, 0x20000003, 120, 5, 0, 0))
    pli = rtcp(206, 1, struct.pack("!II", 9, 0x9999))
    nack = rtcp(205, 1, struct.pack("!IIHH", 9, 0x9999, 101, 0x0003))
    remb = rtcp(206, 15, struct.pack("!II", 9, 0) + b"REMB" + bytes([1, 0x0b, 0x00, 0x10]) + struct.pack("!I", 0x9999))
    call = b"".join([record(0, opus)] + [record(0, p) for p in layers] + [record(4, gap), record(0, rtx),
                     record(0, rid), record(0, h264), record(1, sr), record(3, rr), record(3, pli),
                     record(3, nack), record(7, remb)])
    put("router", "a-call", call)
    put("router", "rtcp-only", record(3, pli) + record(3, nack) + record(7, remb) + record(3, rr))

    put("payload", "opus-with-extensions", opus)
    put("payload", "vp8-keyframe", layers[0])
    put("payload", "h264-idr", h264)
    put("payload", "twcc-arrivals", bytes([0, 1, 10, 0, 2, 10, 0, 5, 250, 0, 3, 3, 0xff, 0xff, 245]))


if __name__ == "__main__":
    main()
