/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libivshm message rings: sleeping and waking.  The protocol is described
 * in ring_wake.c and proved in docs/wire-format.md ("Sleeping and
 * doorbells"); this is the part that runs on every publish.
 */
#ifndef IVSHM_RING_WAKE_H
#define IVSHM_RING_WAKE_H

#include "ring_chan.h"
#include "test_hook.h"

#define WAKE_DEFAULT_SPIN_NS	50000ull

void wake_ring(struct ivshm_chan *c, uint32_t seen, uint64_t idx);
void wake_notify(struct ivshm_chan *c);
int chan_wait(struct ivshm_chan *c, uint64_t need, int timeout_ms);
int chan_arm(struct ivshm_chan *c, uint64_t need);

/*
 * Publish: store @val in @word (the producer: a record header, the
 * consumer: cons_idx; release: what we wrote or read before it) and ring
 * the peer if it announced that it sleeps.  @idx is our index after this
 * publication (the consumer compares it with the producer's want).
 */
static inline void wake_publish(struct ivshm_chan *c, _Atomic uint64_t *word,
				uint64_t val, uint64_t idx)
{
	uint32_t s;

	atomic_store_explicit(word, val, memory_order_release);
	/* a side that cannot ring has nothing to decide: no fence needed */
	if (!c->sig.notify)
		return;
	TEST_HOOK(IVSHM_HOOK_PUBLISHED);
	/*
	 * F1, paired with F2 in announce(): nothing orders a store before
	 * a later load of another location except a full barrier (x86
	 * store buffers, every weaker CPU).  Without it we may read the
	 * peer's old "awake" word while the peer, announcing sleep at the
	 * same time, reads our old @word: both conclude the other will act
	 * and the peer sleeps past this message.  With seq_cst fences on
	 * both sides, one of the two loads sees the other's store.  (A
	 * seq_cst exchange of @word instead is as correct and measured
	 * slower on x86: see "Sleeping and doorbells".)
	 */
	atomic_thread_fence(memory_order_seq_cst);
	s = atomic_load_explicit(&c->peer_evt->sleep, memory_order_relaxed);
	if (unlikely((s & 1) && s != c->kicked))
		wake_ring(c, s, idx);
}

#endif /* IVSHM_RING_WAKE_H */
