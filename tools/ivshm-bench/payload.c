// SPDX-License-Identifier: GPL-2.0-or-later
/* Payload sources and failure reports (the fast paths are in payload.h). */
#include <stdio.h>
#include <stdlib.h>

#include "payload.h"

uint64_t corrupt_seq = UINT64_MAX;

static struct pset sets[4];

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

const struct pset *pset_get(size_t len)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ len, w;
	struct pset *ps;
	unsigned int i, k;
	size_t j;

	for (i = 0; i < 4 && sets[i].len; i++)
		if (sets[i].len == len)
			return &sets[i];
	if (i == 4 || len % 8 || len < 32) {
		fprintf(stderr, "ivshm-bench: bad payload length %zu\n", len);
		exit(2);
	}
	ps = &sets[i];
	for (k = 0; k < NSRC; k++) {
		ps->src[k] = aligned_alloc(64, (len + 63) & ~(size_t)63);
		if (!ps->src[k]) {
			fprintf(stderr, "ivshm-bench: out of memory\n");
			exit(2);
		}
		for (j = 0; j < len; j += 8) {
			w = xorshift(&seed);
			memcpy(ps->src[k] + j, &w, 8);
		}
		ps->sum[k] = body_sum(ps->src[k] + PAYLOAD_HDR,
				      len - PAYLOAD_HDR);
	}
	ps->len = len;
	return ps;
}

int payload_bad(struct run *r, const void *msg, size_t len, uint64_t seq,
		const struct pset *ps)
{
	uint64_t h[2];

	if (len != ps->len) {
		fail(r, "message %llu: length %zu, expected %zu",
		     (unsigned long long)seq, len, ps->len);
		return 1;
	}
	memcpy(h, msg, sizeof(h));
	if (h[0] != seq)
		fail(r, "message %llu: sequence number %llu",
		     (unsigned long long)seq, (unsigned long long)h[0]);
	else
		fail(r, "message %llu: checksum mismatch",
		     (unsigned long long)seq);
	return 1;
}
