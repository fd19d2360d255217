// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ref_ck_ring_64: Concurrency Kit's SPSC ring (Debian libck-dev, header
 * only) of 64-byte records in the shared memory: the producer writes each
 * message in place (ck_ring_enqueue_reserve_spsc + commit), the consumer
 * dequeues a copy (ck_ring_dequeue_spsc) and verifies it.  Built when
 * ck_ring.h was found (IVSHM_BENCH_CK); otherwise the case is skipped.
 */
#include "payload.h"

#define CK_SLOTS	4096		/* 256 KiB of records, as our ring */
#define CK_BUF_OFF	256

#ifdef IVSHM_BENCH_CK
#include <ck_ring.h>

struct msg64 {
	unsigned char b[MSG_SMALL];
};

CK_RING_PROTOTYPE(msg64, msg64)

static const struct pset *ps;

static struct ck_ring *ring(struct run *r)
{
	return (struct ck_ring *)(void *)r->shm;
}

static struct msg64 *slots(struct run *r)
{
	return (struct msg64 *)(void *)(r->shm + CK_BUF_OFF);
}

static int s_ck(struct run *r)
{
	ps = pset_get(MSG_SMALL);
	ck_ring_init(ring(r), CK_SLOTS);
	return 0;
}

static void p_ck(struct run *r)
{
	struct ck_ring *q = ring(r);
	struct msg64 *buf = slots(r), *m;
	unsigned int k = 0;
	uint64_t seq;

	for (seq = 0; seq < r->n; seq++) {
		while (!(m = ck_ring_enqueue_reserve_spsc_msg64(q, buf)))
			if (spin_check(r, &k))
				return;
		payload_write(m, MSG_SMALL, seq, ps);
		ck_ring_enqueue_commit_spsc(q);
	}
}

static void c_ck(struct run *r)
{
	struct ck_ring *q = ring(r);
	struct msg64 *buf = slots(r), m;
	unsigned int k = 0;
	uint64_t seq;

	consumer_ready(r);
	for (seq = 0; seq < r->n; seq++) {
		while (!ck_ring_dequeue_spsc_msg64(q, buf, &m))
			if (spin_check(r, &k))
				return;
		if (payload_check(r, &m, MSG_SMALL, MSG_SMALL, seq, ps))
			return;
	}
	r->ctl->t_end = now_s();
}

#define CK_CASE(name, kind, count, min, setup, p, c)			\
	{ name, kind, 0, count, min,					\
	  CK_BUF_OFF + CK_SLOTS * MSG_SMALL, NULL, setup, p, c, NULL }
#else
static const char *no_ck(void)
{
	return "built without libck-dev (ck_ring.h)";
}

#define CK_CASE(name, kind, count, min, setup, p, c)			\
	{ name, kind, 0, count, min, 0, no_ck, NULL, NULL, NULL, NULL }
#endif

const struct bench_case ck_cases[] = {
	CK_CASE("ref_ck_ring_64", K_RATE_MSGS, 5e6, 1000, s_ck, p_ck, c_ck),
	{ NULL },
};
