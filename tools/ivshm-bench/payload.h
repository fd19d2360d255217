/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The payload every case sends: 8 bytes of sequence number, 8 bytes of
 * checksum, then the body, copied in full from one of NSRC random source
 * buffers (chosen by the sequence number, so neighbouring messages differ
 * and a stale or torn message shows).  The receiver checks the sequence
 * number and recomputes the checksum over the whole body.  The writer and
 * the checker are inline so that a constant length (64) compiles to a
 * few stores and loads, the same code in every case.
 */
#ifndef IVSHM_BENCH_PAYLOAD_H
#define IVSHM_BENCH_PAYLOAD_H

#include <stdint.h>
#include <string.h>

#include "bench.h"

#define NSRC		7
#define PAYLOAD_HDR	16

struct pset {
	size_t len;
	uint64_t sum[NSRC];		/* body checksums of the sources */
	unsigned char *src[NSRC];	/* len bytes each; body at 16 */
};

/* Sources for messages of @len bytes (a multiple of 8, >= 32); made once,
 * before fork, so both processes have them.  Exits on ENOMEM. */
const struct pset *pset_get(size_t len);

/* --corrupt-at: the message with this sequence number gets one bit
 * flipped after it was written (a self-test of the checks). */
extern uint64_t corrupt_seq;

/* Report a message that failed payload_ok(); returns 1. */
int payload_bad(struct run *r, const void *msg, size_t len, uint64_t seq,
		const struct pset *ps);

static inline uint64_t rotl64(uint64_t x, int n)
{
	return (x << n) | (x >> (64 - n));
}

/* Four independent lanes, so the sum runs at load speed. */
static inline uint64_t body_sum(const unsigned char *p, size_t n)
{
	uint64_t a = 0, b = 0, c = 0, d = 0, w[4];
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		memcpy(w, p + i, 32);
		a += w[0];
		b ^= w[1];
		c += w[2];
		d ^= w[3];
	}
	for (; i + 8 <= n; i += 8) {
		memcpy(w, p + i, 8);
		a = rotl64(a, 7) + w[0];
	}
	return a ^ rotl64(b, 13) ^ rotl64(c, 29) ^ rotl64(d, 47) ^ n;
}

static inline void payload_write(void *dst, size_t len, uint64_t seq,
				 const struct pset *ps)
{
	unsigned char *d = dst;
	unsigned int k = (unsigned int)(seq % NSRC);
	uint64_t h[2] = { seq, ps->sum[k] };

	memcpy(d + PAYLOAD_HDR, ps->src[k] + PAYLOAD_HDR, len - PAYLOAD_HDR);
	memcpy(d, h, sizeof(h));
	if (__builtin_expect(seq == corrupt_seq, 0))
		d[len - 1] ^= 1;
}

/* 1 if @msg is message @seq of @len bytes, intact. */
static inline int payload_ok(const void *msg, size_t len, uint64_t seq,
			     const struct pset *ps)
{
	const unsigned char *m = msg;
	uint64_t h[2];

	memcpy(h, m, sizeof(h));
	return h[0] == seq && h[1] == ps->sum[seq % NSRC] &&
	       body_sum(m + PAYLOAD_HDR, len - PAYLOAD_HDR) == h[1];
}

/* Check that @msg (@got bytes) is message @seq of @len bytes; on failure
 * report it and return 1.  @len is the callers' constant. */
static inline int payload_check(struct run *r, const void *msg, size_t got,
				size_t len, uint64_t seq,
				const struct pset *ps)
{
	if (__builtin_expect(got == len && payload_ok(msg, len, seq, ps), 1))
		return 0;
	return payload_bad(r, msg, got, seq, ps);
}

#endif
