/*
 * store_contract.h - the store backend contract as CUnit tests, run by each
 * backend's suite on contract_st (its archive goes under contract_dir).
 */
#ifndef MEESHY_STORE_CONTRACT_H
#define MEESHY_STORE_CONTRACT_H

#include <stdint.h>
#include "store.h"

extern struct store *contract_st;
extern char contract_dir[256];

void contract_make_call(struct call_session *c, const char *id,
			const char *conv, const char *status, uint64_t created);
/* t1 of call-1 by p1, in French, translated into English */
void contract_make_transcription(struct call_transcription *t);
void contract_call_roundtrip(void);
void contract_participants_and_transcriptions(void);
void contract_archive(void);

#endif
