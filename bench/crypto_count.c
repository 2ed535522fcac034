/*
 * crypto_count.c - OpenSSL's two SRTP primitives alone, for instruction
 * counts (bench/arm-cost.sh runs it under qemu with a counting plugin).
 *
 * An SRTP copy out is AES-128-CTR over the payload and HMAC-SHA1 over the
 * packet, in libcrypto, plus everything else (libsrtp's bookkeeping, the
 * router). The cost model of bench/arm-model.py prices the bytes of each
 * primitive at the cycles per byte published for a core, and the rest at
 * that core's instruction rate: so it needs the instructions each
 * primitive spends per byte on each code path OpenSSL picks (ARMv8 crypto
 * extensions, NEON, x86 AES-NI). Two runs at two sizes split them:
 *   instructions per byte = (C(bytes2) - C(bytes1)) / (packets (bytes2 -
 * bytes1))
 *
 *   crypto-count aes-128-ctr|sha1 --bytes B --packets N
 *
 * Each packet as libsrtp does it: AES re-keyed with the packet's IV, then
 * one update; SHA-1 started, updated and finished.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

enum { MAX_BYTES = 16384 };

static int aes_ctr(unsigned char *buf, unsigned long bytes,
		   unsigned long packets)
{
	static const unsigned char key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	unsigned char iv[16] = {0};
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len, ok = ctx &&
		      EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, key, iv);

	for (unsigned long i = 0; ok && i < packets; i++) {
		memcpy(iv, &i, sizeof(i)); /* the packet index, as SRTP's IV */
		ok = EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) &&
		     EVP_EncryptUpdate(ctx, buf, &len, buf, (int)bytes);
	}
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : 1;
}

static int sha1(unsigned char *buf, unsigned long bytes, unsigned long packets)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL;

	for (unsigned long i = 0; ok && i < packets; i++) {
		ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
		     EVP_DigestUpdate(ctx, buf, bytes) &&
		     EVP_DigestFinal_ex(ctx, md, &len);
		buf[0] ^= md[0]; /* each digest depends on the one before */
	}
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static unsigned char buf[MAX_BYTES];
	unsigned long bytes = 0, packets = 0;
	const char *what = argc > 1 ? argv[1] : "";

	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--bytes"))
			bytes = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--packets"))
			packets = strtoul(argv[i + 1], NULL, 10);
		else {
			fprintf(stderr, "crypto-count: unknown argument '%s'\n",
				argv[i]);
			return 2;
		}
	}
	if (!bytes || bytes > MAX_BYTES || !packets) {
		fprintf(stderr,
			"crypto-count: --bytes %lu (1..%d), --packets %lu (> 0)"
			"\nusage: crypto-count aes-128-ctr|sha1 --bytes B"
			" --packets N\n",
			bytes, MAX_BYTES, packets);
		return 2;
	}
	if (!strcmp(what, "aes-128-ctr"))
		return aes_ctr(buf, bytes, packets);
	if (!strcmp(what, "sha1"))
		return sha1(buf, bytes, packets);
	fprintf(stderr, "crypto-count: '%s' is not aes-128-ctr or sha1\n",
		what);
	return 2;
}
