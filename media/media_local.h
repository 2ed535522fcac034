/*
 * media_local.h - the media door's side on this process's SFU: each call's
 * media on one of the media workers (media_workers.h). Role all and the
 * media node both use it. Its answers come at once, before the request or
 * leave returns.
 */
#ifndef MEESHY_MEDIA_LOCAL_H
#define MEESHY_MEDIA_LOCAL_H
struct media;
struct media_workers;

/* name: what media_call_where() says of calls here (this server's id). */
int media_local_alloc(struct media **mp, struct media_workers *mw,
		      const char *name);

#endif
