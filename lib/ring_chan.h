/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libivshm message rings: the channel handle and the readiness checks,
 * shared by ring.c (data path, create/attach) and ring_wake.c (sleeping
 * and waking).  Private to the library.
 */
#ifndef IVSHM_RING_CHAN_H
#define IVSHM_RING_CHAN_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ivshm.h"
#include "keep_errno.h"
#include "ring_layout.h"
#include "ring_region.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

struct ivshm_chan {
	/* hot: private geometry and indices */
	unsigned char *data;		/* ring bytes */
	uint64_t size;			/* ring size (power of two) */
	uint64_t mask;
	uint64_t max_msg;
	int role;
	int err;			/* sticky positive errno, or 0 */
	/* producer */
	uint64_t head;			/* reserved up to here (private) */
	uint64_t pub;			/* published up to here */
	uint64_t pend;			/* header of the record at pub, kept
					 * here until commit stores it */
	uint64_t cons_cache;		/* last validated cons_idx */
	/* consumer */
	uint64_t rd;			/* peeked up to here */
	uint64_t rel;			/* released up to here (done_idx) */
	uint64_t cons_pub;		/* returned: cons_idx, <= rel */
	uint64_t rel_step;		/* return at least every this much */
	unsigned int held;		/* peeked, unreleased messages */
	/* both */
	uint32_t kicked;		/* peer sleep word we last rang for */
	uint32_t sleep_seq;		/* our sleep word (private copy) */
	_Atomic uint64_t *my_idx;
	_Atomic uint64_t *peer_idx;
	struct ivshm_chn_evt *my_evt;
	struct ivshm_chn_evt *peer_evt;
	struct ivshm_chn_hdr *hdr;
	uint32_t gen;
	uint32_t my_epoch;
	const _Atomic uint32_t *rgn_genp;	/* the region header's gen */
	struct ivshm_rgn_desc *desc;	/* our table entry */
	bool autodelete;		/* free it when both sides left */
	uint32_t rgn_gen;		/* ... when we created or attached */
	uint64_t spin_ns;
	bool has_sig;
	struct ivshm_signal sig;
	struct ivshm_chan_stats stats;
} __attribute__((aligned(64)));

/* A failure: the negative errno; errno itself is left alone (keep_errno.h). */
static inline int fail(int err)
{
	return -err;
}

/* ring.c: the peer broke the protocol, or the channel changed under us. */
int chan_broken(struct ivshm_chan *c) __attribute__((cold));
/* ring.c: 0 if the peer may still act; -EPIPE / -ECONNRESET otherwise. */
int check_peer(struct ivshm_chan *c);
/* ring_table.c: close: free the table entry if both sides have left. */
void chan_reclaim(struct ivshm_chan *c);
/* ring.c: why chan_current failed: -ESTALE or -ECONNRESET (sticky). */
int chan_replaced(struct ivshm_chan *c) __attribute__((cold));

/*
 * Is this handle still the owner of its side of this channel generation?
 * A RESET (new generation) or a TAKEOVER (our epoch bumped by another
 * attach) makes it stale: from then on it must not publish, nor hand out
 * ring space to write.  Both words sit on lines that stay in our cache
 * (line 0 is read-only, the event line is our own): two loads.
 * 0, or -ECONNRESET (-ESTALE if the region was formatted again), sticky.
 */
static inline int chan_current(struct ivshm_chan *c)
{
	if (likely(atomic_load_explicit(&c->hdr->gen, memory_order_relaxed) ==
		   c->gen &&
		   atomic_load_explicit(&c->my_evt->epoch,
					memory_order_relaxed) == c->my_epoch))
		return 0;
	return chan_replaced(c);
}

/*
 * Is the region still the format this handle was made in?  Every API
 * call checks it once on entry (a re-format between that check and a
 * store is the window "Takeover and reset" describes): one load of the
 * region header's first line, which changes only when a channel, label
 * or directory is allocated.  0 or -ESTALE (sticky).
 */
static inline int chan_fresh(struct ivshm_chan *c)
{
	if (likely(atomic_load_explicit(c->rgn_genp, memory_order_relaxed) ==
		   c->rgn_gen))
		return 0;
	c->err = ESTALE;
	return -ESTALE;
}

/* Producer: does @need bytes fit after head?  1 yes, 0 no, <0 broken. */
static inline int prod_space(struct ivshm_chan *c, uint64_t need)
{
	uint64_t cons;

	if (likely(c->head + need - c->cons_cache <= c->size))
		return 1;
	cons = atomic_load_explicit(c->peer_idx, memory_order_acquire);
	/* cons_cache <= cons <= pub, modulo 2^64, 8-aligned */
	if (unlikely(cons - c->cons_cache > c->pub - c->cons_cache ||
		     (cons & 7) || chan_current(c)))
		return chan_broken(c);
	c->cons_cache = cons;
	return c->head + need - cons <= c->size;
}

/* The record header word at ring position @idx. */
static inline _Atomic uint64_t *rec_word(struct ivshm_chan *c, uint64_t idx)
{
	return (_Atomic uint64_t *)(void *)(c->data + (idx & c->mask));
}

/*
 * Consumer, nothing published at rd yet: fetch the line after rd's while
 * we wait.  A record of more than 56 bytes goes on there, and the
 * producer writes that line before the header that publishes the record;
 * if our copy of it is fresh when the header arrives, reading the record
 * costs one cache miss instead of two in a row.  When the prefetch comes
 * too early the line is simply fetched again.
 */
static inline void cons_prefetch(const struct ivshm_chan *c)
{
	__builtin_prefetch(c->data + (((c->rd | 63) + 1) & c->mask));
}

/*
 * Consumer: is a record published at rd?  Its header is the publication
 * (acquire: the payload was written before it); do_peek validates it.
 * 1 yes, 0 no.
 */
static inline int cons_fetch(struct ivshm_chan *c)
{
	if (atomic_load_explicit(rec_word(c, c->rd), memory_order_acquire) !=
	    IVSHM_REC_NONE)
		return 1;
	cons_prefetch(c);
	return 0;
}

/* Can the waiter go on?  1 yes, 0 no, <0 broken. */
static inline int ready(struct ivshm_chan *c, uint64_t need)
{
	if (c->role == IVSHM_CHAN_PRODUCER)
		return prod_space(c, need);
	return cons_fetch(c);
}

#endif /* IVSHM_RING_CHAN_H */
