/*
 * cluster_keys.h - every Redis key and channel the processes of a cluster
 * share, in one place (docs/operations.md and docs/protocol.md tell what
 * they are for). Each is a format string for re_snprintf or redis_cmd,
 * "%s" the id it names.
 */
#ifndef MEESHY_CLUSTER_KEYS_H
#define MEESHY_CLUSTER_KEYS_H

/* A call's Socket.IO room, and the bus channel of a room. */
#define CALL_ROOM_PREFIX "call:"
#define CALL_ROOM CALL_ROOM_PREFIX "%s"
#define CHANNEL_ROOM_PREFIX "meeshy:room:"
/* Each gateway's own channel: its remote clients' events, and the acks,
 * emits and room changes for its sockets in others' calls. */
#define CHANNEL_NODE_PREFIX "meeshy:node:"
#define CHANNEL_NODE CHANNEL_NODE_PREFIX "%s"

/* A call's cached state (JSON) and who is in it (a set of user ids). */
#define KEY_CALL_STATE "call:%s:state"
#define KEY_CALL_PRESENCE "call:%s:participants"
/* The gateway that owns a call, and the media node it is placed on. */
#define KEY_CALL_OWNER "call:%s:gateway"
#define KEY_CALL_MEDIA_SERVER "call:%s:media-server"
/* A gateway says every second it is alive (EX 3). Lua scripts build the
 * key from its two halves around an id. */
#define KEY_GATEWAY_ALIVE_HEAD "gateway:"
#define KEY_GATEWAY_ALIVE_TAIL ":alive"
#define KEY_GATEWAY_ALIVE KEY_GATEWAY_ALIVE_HEAD "%s" KEY_GATEWAY_ALIVE_TAIL
/* Media nodes: id -> internal API URL (a hash), and each one's load
 * (JSON, EX 3: gone, the node is dead). */
#define KEY_MEDIA_NODES "media:nodes"
#define KEY_MEDIA_LOAD "media:%s:load"

#endif
