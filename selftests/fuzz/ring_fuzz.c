// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target for the ring wire format: the input is the raw content
 * of a 16 KiB shared region (the peer controls all of it), optionally
 * followed by an operation script.  Drives region open, attach to every
 * named channel (both roles), and every consumer and producer call with
 * timeout 0; the peer directory (lookup, list, register, heartbeat,
 * unregister); channel creation and deletion against the hostile table
 * (space kept by free entries).  Any crash, sanitizer report, hang, or
 * pointer handed out outside the region is a bug.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined (selftests/host/ring_fuzz.sh)
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ivshm.h"

#define REG	16384u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char *lo, *hi;

static void in_region(const void *p, size_t len)
{
	if ((const unsigned char *)p < lo || len > (size_t)(hi - lo) ||
	    (const unsigned char *)p + len > hi)
		abort();
}

static int cb(const void *d, size_t len, void *arg)
{
	volatile unsigned char s;

	in_region(d, len);
	s = ((const unsigned char *)d)[len - 1];
	(void)s;
	(*(int *)arg)++;
	return 0;
}

static void run_consumer(struct ivshm_chan *c, const uint8_t *ops, size_t n)
{
	static unsigned char buf[REG];
	const void *d;
	size_t len, i;
	int cnt = 0;
	long r;

	for (i = 0; i < 64; i++) {
		uint8_t op = n ? ops[i % n] : (uint8_t)i;

		switch (op % 4) {
		case 0:
			r = ivshm_chan_peek(c, &d, &len, 0);
			if (!r)
				in_region(d, len);
			break;
		case 1:
			r = ivshm_chan_release(c);
			break;
		case 2:
			r = ivshm_chan_recv(c, buf, (op >> 2) * 64u, 0);
			if (r > (long)sizeof(buf))
				abort();
			break;
		default:
			r = ivshm_chan_recv_many(c, cb, &cnt, op >> 2, 0);
			break;
		}
		if (r == -EPROTO || r == -ECONNRESET || r == -ESTALE)
			break;
	}
}

static void run_producer(struct ivshm_chan *c, const uint8_t *ops, size_t n)
{
	static unsigned char buf[REG];
	size_t i, len;
	void *w;
	long r;

	for (i = 0; i < 64; i++) {
		uint8_t op = n ? ops[i % n] : (uint8_t)(i * 37);

		len = 1 + (size_t)op * 5;
		switch (op % 3) {
		case 0:
			r = ivshm_chan_reserve(c, len, &w, 0);
			if (!r) {
				in_region(w, len);
				memset(w, 0x42, len);
			}
			break;
		case 1:
			r = ivshm_chan_commit(c);
			break;
		default:
			r = ivshm_chan_send(c, buf, len, 0);
			break;
		}
		if (r == -EPROTO || r == -ECONNRESET || r == -ESTALE)
			break;
	}
}

/* The peer directory as the peer wrote it: look up, list, register. */
static void run_peers(struct ivshm_region *r)
{
	struct ivshm_peer_info pi[IVSHM_PEER_MAX];
	int n, i, id;

	pi[0].size = sizeof(pi[0]);
	n = ivshm_peer_list(r, pi, IVSHM_PEER_MAX);
	for (i = 0; i < n && i < IVSHM_PEER_MAX; i++) {
		if (memchr(pi[i].name, 0, sizeof(pi[i].name)) == NULL ||
		    pi[i].peer_id > 65535)
			abort();
		id = ivshm_peer_lookup(r, pi[i].name);
		if (id > 65535)
			abort();
	}
	(void)ivshm_peer_lookup(r, "host");
	if (ivshm_peer_register(r, "fuzz", 7, 1, IVSHM_PEER_REPLACE) >= 0) {
		(void)ivshm_peer_heartbeat(r);
		(void)ivshm_peer_unregister(r);
	}
}

/* A channel that is created, used by both sides and deleted. */
static void run_delete(struct ivshm_region *r, const uint8_t *ops,
		       size_t nops)
{
	struct ivshm_chan *p, *c;

	p = ivshm_chan_create(r, "fuzz-del", 512, IVSHM_CHAN_PRODUCER |
			      IVSHM_CHAN_AUTODELETE, NULL);
	if (!p)
		return;
	c = ivshm_chan_attach(r, "fuzz-del", IVSHM_CHAN_CONSUMER, NULL);
	run_producer(p, ops, nops);
	if (c)
		run_consumer(c, ops, nops);
	ivshm_chan_close(c);
	ivshm_chan_close(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ivshm_region *r;
	struct ivshm_chan *c;
	const uint8_t *ops = NULL;
	size_t nops = 0;
	unsigned int i;
	char name[IVSHM_CHAN_NAME_MAX];
	unsigned char *mem;

	mem = aligned_alloc(64, REG);
	if (!mem)
		return 0;
	memset(mem, 0, REG);
	memcpy(mem, data, size < REG ? size : REG);
	if (size > REG) {
		ops = data + REG;
		nops = size - REG;
	}
	lo = mem;
	hi = mem + REG;

	r = ivshm_region_open(mem, REG);
	if (!r) {
		free(mem);
		return 0;
	}
	(void)ivshm_region_avail(r);
	for (i = 0; i < IVSHM_CHAN_MAX; i++) {
		/* table entry names, as the peer wrote them */
		memcpy(name, mem + 64 + 64 * i, sizeof(name));
		name[sizeof(name) - 1] = 0;
		if (!name[0])
			continue;
		c = ivshm_chan_attach(r, name, IVSHM_CHAN_CONSUMER |
				      IVSHM_CHAN_TAKEOVER, NULL);
		if (c) {
			run_consumer(c, ops, nops);
			ivshm_chan_close(c);
		}
		c = ivshm_chan_attach(r, name, IVSHM_CHAN_PRODUCER |
				      IVSHM_CHAN_TAKEOVER, NULL);
		if (c) {
			run_producer(c, ops, nops);
			ivshm_chan_close(c);
		}
	}
	run_peers(r);
	run_delete(r, ops, nops);
	/* allocation against a hostile table */
	c = ivshm_chan_create(r, "fuzz-new", 256, IVSHM_CHAN_PRODUCER, NULL);
	if (c) {
		run_producer(c, ops, nops);
		ivshm_chan_close(c);
	}
	c = ivshm_chan_create(r, "fuzz-new", 256, IVSHM_CHAN_CONSUMER |
			      IVSHM_CHAN_RESET, NULL);
	ivshm_chan_close(c);
	ivshm_region_close(r);
	free(mem);
	return 0;
}
