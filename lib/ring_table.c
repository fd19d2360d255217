// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libivshm message rings: the channel table and the space its entries
 * own.  Consistent reads of an entry, the checks of its space, claiming
 * an entry for a new channel, and freeing one when both of its sides have
 * left ("Deletion" in docs/wire-format.md).
 *
 * Space: an entry owns [offset, offset + extent).  A new channel takes a
 * free entry that kept space it fits in (best fit), else a free entry
 * without space and bump-allocates (region_alloc); a free entry whose
 * space is the last block allocated gives it back to the bump allocator.
 * A deleted channel's entry stays free with its space, so the 64 entries
 * and the memory go round.  Every offset and extent is read from shared
 * memory and checked before anything is written there: inside the
 * region, aligned, and not overlapping the space of any other entry, the
 * peer directory or the label.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ring_chan.h"
#include "ring_layout.h"
#include "ring_region.h"
#include "ring_wake.h"

#define FIRST_OFF	((uint64_t)IVSHM_RGN_HDR_SIZE)	/* 64-aligned */
#define MIN_AREA	((uint64_t)IVSHM_CHN_HDR_SIZE + IVSHM_CHN_MIN_RING)
#define SETTLE_NS	1000000000ull
#define CLAIM_TRIES	64
#define DESC_READ_TRIES	100

_Static_assert(IVSHM_RGN_HDR_SIZE % IVSHM_RGN_ALIGN == 0, "aligned");

int desc_read(const struct ivshm_region *r, unsigned int i,
	      struct desc_snap *s)
{
	struct ivshm_rgn_desc *d = &rgn(r)->desc[i];
	unsigned int tries;

	/*
	 * A state that changed while we copied is an entry in transition
	 * (claimed, published, deleted): read it again rather than fail a
	 * call about another entry.  Bounded, for a peer that never stops.
	 */
	for (tries = 0; tries < DESC_READ_TRIES; tries++) {
		if (tries)
			sched_yield();
		s->state = atomic_load_explicit(&d->state,
						memory_order_acquire);
		copy_name(s->name, d->name);
		s->offset = RD(d->offset);
		s->size = RD(d->size);
		s->extent = RD(d->extent);
		TEST_HOOK(IVSHM_HOOK_DESC_READ);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&d->state, memory_order_relaxed) ==
		    s->state)
			return 0;
	}
	return -EAGAIN;
}

/* [off, off + len) is aligned, after the table and inside the region. */
static bool space_in_region(uint64_t off, uint64_t len, uint64_t lim)
{
	return !(off & (IVSHM_RGN_ALIGN - 1)) &&
	       !(len & (IVSHM_RGN_ALIGN - 1)) && off >= FIRST_OFF &&
	       off <= lim && len <= lim - off && len >= MIN_AREA;
}

bool entry_ok(const struct desc_snap *s, uint64_t lim)
{
	return space_in_region(s->offset, s->extent, lim) &&
	       s->size >= MIN_AREA && s->size <= s->extent;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	/* both are inside the region (checked): no overflow */
	return a < b + blen && b < a + alen;
}

int check_overlap(const struct ivshm_region *r, uint64_t lim,
		  unsigned int self, uint64_t off, uint64_t len, bool all)
{
	struct ivshm_rgn_hdr *h = rgn(r);
	struct desc_snap s;
	unsigned int i;
	uint32_t st;
	uint64_t o;

	for (i = 0; i < IVSHM_RGN_MAX_CHANS; i++) {
		if (i == self)
			continue;
		if (desc_read(r, i, &s) < 0)
			return -EAGAIN;
		st = IVSHM_DESC_ST(s.state);
		if (st != IVSHM_DESC_READY && st != IVSHM_DESC_DYING &&
		    (!all || !s.extent))
			continue;
		/* space out of the region overlaps nothing we would use */
		if (space_in_region(s.offset, s.extent, lim) &&
		    overlaps(off, len, s.offset, s.extent))
			return -EPROTO;
	}
	if (!all)
		return 0;
	o = atomic_load_explicit(&h->peers_off, memory_order_acquire);
	if (o && o <= lim && overlaps(off, len, o, sizeof(struct ivshm_pdr)))
		return -EPROTO;
	o = atomic_load_explicit(&h->label_off, memory_order_acquire);
	if (o && o <= lim &&
	    overlaps(off, len, o, sizeof(struct ivshm_rgn_label)))
		return -EPROTO;
	return 0;
}

/*
 * We own entry @i (INIT): may we use the space it kept?  Read it again
 * (the peer may have changed it since our snapshot) and check it.
 */
static bool kept_space_ok(const struct ivshm_region *r, uint64_t lim,
			  unsigned int i, uint64_t area, uint64_t *off,
			  uint64_t *extent)
{
	struct ivshm_rgn_desc *d = &rgn(r)->desc[i];

	*off = RD(d->offset);
	*extent = RD(d->extent);
	return space_in_region(*off, *extent, lim) && *extent >= area &&
	       check_overlap(r, lim, i, *off, *extent, true) == 0;
}

/* Give the kept space of entry @i back if it is the last block. */
static void give_back(const struct ivshm_region *r, unsigned int i,
		      uint64_t off, uint64_t extent)
{
	uint64_t end = off + extent;

	atomic_compare_exchange_strong(&rgn(r)->alloc_next, &end, off);
	/* given back or not (more was allocated since): not ours now */
	rgn(r)->desc[i].extent = 0;
}

int slot_claim(const struct ivshm_region *r, uint64_t lim, uint64_t area,
	       uint32_t *gen, uint64_t *off)
{
	struct ivshm_rgn_hdr *h = rgn(r);
	struct desc_snap s;
	uint64_t best_ext = 0, next, o, e;
	int best, bare, top, pick, tries;
	unsigned int i;
	uint32_t st;

	for (tries = 0; tries < CLAIM_TRIES; tries++) {
		best = bare = top = -1;
		next = atomic_load_explicit(&h->alloc_next,
					    memory_order_relaxed);
		for (i = 0; i < IVSHM_RGN_MAX_CHANS; i++) {
			if (desc_read(r, i, &s) < 0 ||
			    IVSHM_DESC_ST(s.state) != IVSHM_DESC_FREE)
				continue;
			if (!s.extent) {
				if (bare < 0)
					bare = (int)i;
			} else if (!space_in_region(s.offset, s.extent, lim)) {
				continue;	/* forged: never used */
			} else if (s.extent >= area &&
				   (best < 0 || s.extent < best_ext)) {
				best = (int)i;
				best_ext = s.extent;
			} else if (s.offset + s.extent == next) {
				top = (int)i;
			}
		}
		pick = best >= 0 ? best : top >= 0 ? top : bare;
		if (pick < 0)
			return -ENOSPC;
		st = atomic_load_explicit(&h->desc[pick].state,
					  memory_order_relaxed);
		if (IVSHM_DESC_ST(st) != IVSHM_DESC_FREE)
			continue;
		*gen = (IVSHM_DESC_GEN(st) + 1) & 0xffffff;
		if (!atomic_compare_exchange_strong(&h->desc[pick].state, &st,
				IVSHM_DESC_WORD(*gen, IVSHM_DESC_INIT)))
			continue;
		*off = 0;
		if (pick == best) {
			if (kept_space_ok(r, lim, (unsigned int)pick, area,
					  &o, &e))
				*off = o;
			else
				h->desc[pick].extent = 0;  /* forged: drop */
		} else if (pick == top) {
			o = RD(h->desc[pick].offset);
			e = RD(h->desc[pick].extent);
			if (space_in_region(o, e, lim))
				give_back(r, (unsigned int)pick, o, e);
			else
				h->desc[pick].extent = 0;
		}
		return pick;
	}
	return -EAGAIN;
}

uint32_t desc_settle(struct ivshm_rgn_desc *d, uint32_t seen)
{
	uint32_t dying = IVSHM_DESC_WORD(IVSHM_DESC_GEN(seen),
					 IVSHM_DESC_DYING);
	uint64_t deadline = 0;
	uint32_t st;

	for (;;) {
		st = atomic_load_explicit(&d->state, memory_order_seq_cst);
		if (st != dying)
			return st;
		if (!deadline)
			deadline = now_ns() + SETTLE_NS;
		else if (now_ns() > deadline)
			return st;	/* a closer died inside close */
		sched_yield();
	}
}

/*
 * Called by close after it marked its side detached (seq_cst CAS of its
 * epoch): if the peer's side has left too, free the entry, keeping its
 * space for the next channel.  Against an attach of either side at the
 * same moment (it CASes its epoch, then loads the state, both seq_cst):
 * we make the state DYING, then load both epochs (seq_cst).  Of the two
 * "store, then load the other's word" sequences at least one sees the
 * other's store (Dekker): we see the attach (and put READY back), or the
 * attacher sees DYING and waits for our outcome (desc_settle), or both.
 * Of two sides closing at once at least one sees the other's even epoch.
 */
void chan_reclaim(struct ivshm_chan *c)
{
	uint32_t ready = IVSHM_DESC_WORD(c->gen, IVSHM_DESC_READY);
	uint32_t dying = IVSHM_DESC_WORD(c->gen, IVSHM_DESC_DYING);
	uint32_t pe, me, st = ready;

	pe = atomic_load_explicit(&c->peer_evt->epoch, memory_order_seq_cst);
	if (!pe || (pe & 1))
		return;		/* never attached (keep it for it), or there */
	if (!atomic_compare_exchange_strong(&c->desc->state, &st, dying))
		return;		/* re-created, or being freed by the peer */
	me = atomic_load_explicit(&c->my_evt->epoch, memory_order_seq_cst);
	if (atomic_load_explicit(&c->peer_evt->epoch, memory_order_seq_cst) !=
	    pe || (me & 1) || !me ||
	    atomic_load_explicit(&c->hdr->gen, memory_order_relaxed) != c->gen) {
		st = dying;
		atomic_compare_exchange_strong(&c->desc->state, &st, ready);
		return;
	}
	st = dying;
	atomic_compare_exchange_strong_explicit(&c->desc->state, &st,
			IVSHM_DESC_WORD(c->gen, IVSHM_DESC_FREE),
			memory_order_release, memory_order_relaxed);
}
