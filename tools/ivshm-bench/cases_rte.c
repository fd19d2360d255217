// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DPDK's rte_ring (Debian libdpdk-dev), initialised with rte_ring_init on
 * the shared memory, without the EAL (nothing else of DPDK is used):
 *   ref_rte_ring_64   a single-producer single-consumer ring of 64-byte
 *                     elements (rte_ring_sp_enqueue_elem /
 *                     rte_ring_sc_dequeue_elem copy each message in and out)
 *   ref_rte_ring_64k  a ring of slot numbers into a shared pool of 64 KiB
 *                     buffers, with a second ring returning free slots: the
 *                     producer writes the message into a free slot, the
 *                     consumer copies it out, frees the slot and verifies
 * Built when pkg-config found libdpdk (IVSHM_BENCH_RTE); otherwise the
 * cases are skipped.  The ring operations are inline in DPDK's headers;
 * the two functions that are not are taken from librte_ring with dlopen
 * when these cases first run, so that ivshm-bench itself needs no DPDK
 * library to start (in a guest, or installed from a package).
 */
#include <stdlib.h>
#include <string.h>

#include "payload.h"

#define RTE_SLOTS	4096		/* 256 KiB of elements, as our ring */
#define POOL_SLOTS	16		/* 1 MiB, as our 64 KiB case's ring */
#define IDX_RING	32		/* holds POOL_SLOTS (capacity 31) */
#define IDX_RING_SIZE	4096		/* bytes reserved per index ring */
#define POOL_OFF	(2 * IDX_RING_SIZE)

#ifdef IVSHM_BENCH_RTE
#include <dlfcn.h>
#include <stdio.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

static int (*ring_init)(struct rte_ring *r, const char *name,
			unsigned int count, unsigned int flags);
static ssize_t (*ring_memsize)(unsigned int esize, unsigned int count);

static const char *no_rte(void)
{
	static char why[200];
	void *h;

	if (ring_init && ring_memsize)
		return NULL;
	h = dlopen(RTE_RING_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, sizeof(why), "%s", dlerror());
		return why;
	}
	ring_init = (int (*)(struct rte_ring *, const char *, unsigned int,
			     unsigned int))dlsym(h, "rte_ring_init");
	ring_memsize = (ssize_t (*)(unsigned int, unsigned int))
		       dlsym(h, "rte_ring_get_memsize_elem");
	if (!ring_init || !ring_memsize) {
		snprintf(why, sizeof(why), "%s lacks rte_ring_init",
			 RTE_RING_LIB);
		return why;
	}
	return NULL;
}

static const struct pset *ps;
static unsigned char *buf;		/* the 64 KiB consumer's copy */

static struct rte_ring *ring_at(struct run *r, size_t off)
{
	return (struct rte_ring *)(void *)(r->shm + off);
}

static int init(struct run *r, size_t off, const char *name,
		unsigned int count, unsigned int esize)
{
	ssize_t need = ring_memsize(esize, count);
	int e;

	if (need < 0 || off + (size_t)need > r->shm_size) {
		fail(r, "rte_ring_get_memsize_elem: %zd", need);
		return -1;
	}
	e = ring_init(ring_at(r, off), name, count,
			  RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (e)
		fail(r, "rte_ring_init: %s", strerror(-e));
	return e;
}

static int s_rte64(struct run *r)
{
	ps = pset_get(MSG_SMALL);
	return init(r, 0, "b64", RTE_SLOTS, MSG_SMALL);
}

static void p_rte64(struct run *r)
{
	struct rte_ring *q = ring_at(r, 0);
	unsigned char m[MSG_SMALL] __attribute__((aligned(64)));
	unsigned int k = 0;
	uint64_t seq;

	for (seq = 0; seq < r->n; seq++) {
		payload_write(m, MSG_SMALL, seq, ps);
		while (rte_ring_sp_enqueue_elem(q, m, MSG_SMALL))
			if (spin_check(r, &k))
				return;
	}
}

static void c_rte64(struct run *r)
{
	struct rte_ring *q = ring_at(r, 0);
	unsigned char m[MSG_SMALL] __attribute__((aligned(64)));
	unsigned int k = 0;
	uint64_t seq;

	consumer_ready(r);
	for (seq = 0; seq < r->n; seq++) {
		while (rte_ring_sc_dequeue_elem(q, m, MSG_SMALL))
			if (spin_check(r, &k))
				return;
		if (payload_check(r, m, MSG_SMALL, MSG_SMALL, seq, ps))
			return;
	}
	r->ctl->t_end = now_s();
}

static int s_rte64k(struct run *r)
{
	uintptr_t i;

	ps = pset_get(MSG_BIG);
	free(buf);
	buf = aligned_alloc(64, MSG_BIG);
	if (!buf) {
		fail(r, "out of memory");
		return -1;
	}
	if (init(r, 0, "data", IDX_RING, sizeof(void *)) ||
	    init(r, IDX_RING_SIZE, "free", IDX_RING, sizeof(void *)))
		return -1;
	for (i = 0; i < POOL_SLOTS; i++)
		if (rte_ring_sp_enqueue(ring_at(r, IDX_RING_SIZE),
					(void *)i)) {
			fail(r, "cannot fill the free ring");
			return -1;
		}
	return 0;
}

/* Take a slot number from @q; the peer's numbers are checked. */
static unsigned char *take(struct run *r, struct rte_ring *q)
{
	unsigned int k = 0;
	void *v;

	while (rte_ring_sc_dequeue(q, &v))
		if (spin_check(r, &k))
			return NULL;
	if ((uintptr_t)v >= POOL_SLOTS) {
		fail(r, "bad slot number %ju", (uintmax_t)(uintptr_t)v);
		return NULL;
	}
	return r->shm + POOL_OFF + (uintptr_t)v * MSG_BIG;
}

static int give(struct run *r, struct rte_ring *q, unsigned char *slot)
{
	uintptr_t i = (uintptr_t)(slot - r->shm - POOL_OFF) / MSG_BIG;

	/* the ring holds every slot: it is never full */
	if (rte_ring_sp_enqueue(q, (void *)i)) {
		fail(r, "index ring full");
		return -1;
	}
	return 0;
}

static void p_rte64k(struct run *r)
{
	struct rte_ring *data = ring_at(r, 0);
	struct rte_ring *fr = ring_at(r, IDX_RING_SIZE);
	unsigned char *slot;
	uint64_t seq;

	for (seq = 0; seq < r->n; seq++) {
		slot = take(r, fr);
		if (!slot)
			return;
		payload_write(slot, MSG_BIG, seq, ps);
		if (give(r, data, slot))
			return;
	}
}

static void c_rte64k(struct run *r)
{
	struct rte_ring *data = ring_at(r, 0);
	struct rte_ring *fr = ring_at(r, IDX_RING_SIZE);
	unsigned char *slot;
	uint64_t seq;

	consumer_ready(r);
	for (seq = 0; seq < r->n; seq++) {
		slot = take(r, data);
		if (!slot)
			return;
		memcpy(buf, slot, MSG_BIG);
		if (give(r, fr, slot) ||
		    payload_check(r, buf, MSG_BIG, MSG_BIG, seq, ps))
			return;
	}
	r->ctl->t_end = now_s();
}

#define RTE_CASE(name, kind, count, min, shm, setup, p, c)		\
	{ name, kind, 0, count, min, shm, no_rte, setup, p, c, NULL }
#else
static const char *no_rte(void)
{
	return "built without libdpdk-dev (rte_ring)";
}

#define RTE_CASE(name, kind, count, min, shm, setup, p, c)		\
	{ name, kind, 0, count, min, 0, no_rte, NULL, NULL, NULL, NULL }
#endif

const struct bench_case rte_cases[] = {
	RTE_CASE("ref_rte_ring_64", K_RATE_MSGS, 5e6, 1000,
		 RTE_SLOTS * MSG_SMALL + 4096, s_rte64, p_rte64, c_rte64),
	RTE_CASE("ref_rte_ring_64k", K_RATE_BYTES, 2e4, 100,
		 POOL_OFF + POOL_SLOTS * MSG_BIG, s_rte64k, p_rte64k,
		 c_rte64k),
	{ NULL },
};
