// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libivshm message rings: SPSC channels in shared memory.
 *
 * Wire format: ring_layout.h and docs/wire-format.md.
 *
 * Trust: the peer may write anything anywhere in the region at any time.
 * Geometry (ring base, size, mask, max message) is validated once at
 * create/attach and kept in the process-local handle.  Each side keeps its
 * own index privately and only ever stores it to shared memory; the
 * consumer index is loaded by the producer, checked (monotonic, within
 * what was published, 8-aligned) and cached privately.  Record headers are
 * loaded once into locals (one 8-byte load) and validated against the end
 * of the ring and the room a producer may have used.  A violation sets a
 * sticky error (-EPROTO) on the handle.
 *
 * Ordering: a record's header publishes it.  The producer keeps a zero
 * word at its position; commit writes the zero word after the batch and
 * prod_idx (for attach and enumeration), then the batch's first header
 * with a release store.  The consumer loads the header at its position
 * with acquire: the line it polls is the record's own.  It publishes
 * cons_idx with a release store after reading; the producer loads it with
 * acquire.  Reserving, writing, peeking and reading have no fences and no
 * locked instructions.
 *
 * Sleeping and waking: ring_wake.c (one file, readable alone).  Each
 * publication pays one full fence (wake_publish) when this side has a
 * doorbell to ring: it is what makes "publish, then look whether the peer
 * sleeps" safe against a peer that announces sleep at the same moment
 * (Dekker's pattern; the proof is in docs/wire-format.md).  Batching
 * (several reservations or peeks per commit or release) pays it once per
 * batch.
 */
#include <errno.h>
#include <sched.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ivshm.h"
#include "ring_chan.h"
#include "ring_layout.h"
#include "ring_region.h"
#include "ring_wake.h"
#include "sized.h"

_Static_assert(sizeof(struct ivshm_chan_stats) == IVSHM_CHAN_STATS_SIZE_V1,
	       "V1");
_Static_assert(sizeof(struct ivshm_chan_info) == IVSHM_CHAN_INFO_SIZE_V1,
	       "V1");

_Static_assert(IVSHM_REGION_HDR_SIZE == IVSHM_RGN_HDR_SIZE, "public size");
_Static_assert(IVSHM_CHAN_HDR_SIZE == IVSHM_CHN_HDR_SIZE, "public size");
_Static_assert(IVSHM_CHAN_MAX == IVSHM_RGN_MAX_CHANS, "public size");
_Static_assert(IVSHM_CHAN_NAME_MAX == IVSHM_RGN_NAME_LEN, "public size");
_Static_assert(IVSHM_CHAN_MIN_RING == IVSHM_CHN_MIN_RING, "public size");
_Static_assert(IVSHM_CHAN_MAX_RING == IVSHM_CHN_MAX_RING, "public size");
_Static_assert(IVSHM_REGION_LABEL_MAX == IVSHM_RGN_LABEL_LEN, "public size");

#define ROLE_MASK		(IVSHM_CHAN_PRODUCER | IVSHM_CHAN_CONSUMER)

/*
 * A consumer without a doorbell returns released space to the producer
 * at least every REL_STEP_MAX bytes (an eighth of smaller rings): see
 * do_release.
 */
#define REL_STEP_MAX		1024u

static inline uint64_t rec_size(uint64_t len)
{
	return IVSHM_REC_HDR + ((len + 7) & ~7ull);
}

static inline bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/*
 * The bytes that the record with header @h at ring offset @off spans: a
 * message (1..max_msg bytes, not past the end of the ring), or a padding
 * record (not at offset 0, exactly to the end of the ring).  0 if @h is
 * neither.
 */
static inline uint64_t rec_span(const struct ivshm_chan *c, uint64_t h,
				uint64_t off)
{
	uint64_t hlen = (uint32_t)h, to_end = c->size - off;
	uint32_t flags = (uint32_t)(h >> 32);

	if (likely(!flags))
		return hlen - 1 < c->max_msg && rec_size(hlen) <= to_end ?
		       rec_size(hlen) : 0;
	return flags == IVSHM_REC_PAD && off && hlen + IVSHM_REC_HDR == to_end ?
	       to_end : 0;
}

/* ---- region ---------------------------------------------------------- */

/* Validate the region header now; return the usable size or -errno. */
int64_t region_check(const struct ivshm_region *r)
{
	struct ivshm_rgn_hdr *h = rgn(r);
	uint64_t magic, size;

	magic = atomic_load_explicit(&h->magic, memory_order_acquire);
	if (magic == 0)
		return -EAGAIN;
	if (magic != IVSHM_RGN_MAGIC)
		return -EPROTO;
	if (RD(h->version) != IVSHM_RING_VERSION)
		return -EPROTONOSUPPORT;
	size = RD(h->region_size);
	if (RD(h->hdr_size) != IVSHM_RGN_HDR_SIZE ||
	    RD(h->max_chans) != IVSHM_RGN_MAX_CHANS ||
	    RD(h->desc_size) != sizeof(struct ivshm_rgn_desc) ||
	    size < IVSHM_RGN_HDR_SIZE || size > r->size || size > INT64_MAX)
		return -EPROTO;
	if (atomic_load_explicit(&h->gen, memory_order_relaxed) != r->gen)
		return -ESTALE;
	return (int64_t)size;
}

int64_t region_alloc(const struct ivshm_region *r, uint64_t lim,
		     uint64_t size)
{
	struct ivshm_rgn_hdr *h = rgn(r);
	uint64_t cur, off;

	cur = atomic_load_explicit(&h->alloc_next, memory_order_relaxed);
	for (;;) {
		if (cur < IVSHM_RGN_HDR_SIZE || cur > lim)
			return -EPROTO;
		off = align_up(cur, IVSHM_RGN_ALIGN);
		if (off > lim || size > lim - off)
			return -ENOSPC;
		if (atomic_compare_exchange_weak(&h->alloc_next, &cur,
						 off + size))
			return (int64_t)off;
	}
}

static struct ivshm_region *region_new(void *base, size_t size)
{
	struct ivshm_region *r;

	if (!base || ((uintptr_t)base & (IVSHM_RGN_ALIGN - 1)) ||
	    size < IVSHM_RGN_HDR_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->base = base;
	r->size = size;
	r->peer_slot = -1;
	return r;
}

IVSHM_EXPORT struct ivshm_region *ivshm_region_format(void *base, size_t size)
{
	struct ivshm_region *r = region_new(base, size);
	struct ivshm_rgn_hdr *h;
	unsigned int i;

	if (!r)
		return NULL;
	h = rgn(r);
	atomic_store_explicit(&h->magic, 0, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	/* a new generation: handles of the old format see -ESTALE */
	r->gen = atomic_load_explicit(&h->gen, memory_order_relaxed) + 1;
	memset((char *)h + sizeof(h->magic), 0,
	       IVSHM_RGN_HDR_SIZE - sizeof(h->magic));
	atomic_store_explicit(&h->gen, r->gen, memory_order_relaxed);
	h->version = IVSHM_RING_VERSION;
	h->hdr_size = IVSHM_RGN_HDR_SIZE;
	h->region_size = size;
	h->max_chans = IVSHM_RGN_MAX_CHANS;
	h->desc_size = sizeof(struct ivshm_rgn_desc);
	for (i = 0; i < IVSHM_RGN_MAX_CHANS; i++)
		atomic_store_explicit(&h->desc[i].state, 0,
				      memory_order_relaxed);
	atomic_store_explicit(&h->alloc_next,
			      align_up(IVSHM_RGN_HDR_SIZE, IVSHM_RGN_ALIGN),
			      memory_order_relaxed);
	atomic_store_explicit(&h->magic, IVSHM_RGN_MAGIC, memory_order_release);
	return r;
}

IVSHM_EXPORT struct ivshm_region *ivshm_region_open(void *base, size_t size)
{
	struct ivshm_region *r = region_new(base, size);
	int64_t ret;

	if (!r)
		return NULL;
	r->gen = atomic_load_explicit(&rgn(r)->gen, memory_order_relaxed);
	ret = region_check(r);
	if (ret == -ESTALE)
		ret = -EAGAIN;	/* formatted while we looked */
	if (ret < 0) {
		free(r);
		errno = (int)-ret;
		return NULL;
	}
	return r;
}

IVSHM_EXPORT void ivshm_region_close(struct ivshm_region *r)
{
	if (!r)
		return;
	peer_forget(r);
	free(r);
}

IVSHM_EXPORT ssize_t ivshm_region_avail(struct ivshm_region *r)
{
	int64_t lim;
	uint64_t next;

	if (!r)
		return fail(EINVAL);
	lim = region_check(r);
	if (lim < 0)
		return fail((int)-lim);
	next = atomic_load_explicit(&rgn(r)->alloc_next, memory_order_relaxed);
	if (next < IVSHM_RGN_HDR_SIZE || next > (uint64_t)lim)
		return fail(EPROTO);
	return (ssize_t)((uint64_t)lim - next);
}

/* ---- region label ---------------------------------------------------- */

/*
 * Copy the published label into out[IVSHM_RGN_LABEL_LEN] (one read of the
 * shared bytes) and validate the copy; return its length or -errno.
 */
static int label_read(const struct ivshm_region *r, uint64_t lim, char *out)
{
	const struct ivshm_rgn_label *b;
	uint64_t off;
	const char *nul;

	off = atomic_load_explicit(&rgn(r)->label_off, memory_order_acquire);
	if (off == 0)
		return -ENODATA;
	if ((off & (IVSHM_RGN_ALIGN - 1)) ||
	    off < align_up(IVSHM_RGN_HDR_SIZE, IVSHM_RGN_ALIGN) ||
	    off > lim || sizeof(*b) > lim - off)
		return -EPROTO;
	b = (const struct ivshm_rgn_label *)(r->base + off);
	if (RD(b->magic) != IVSHM_LBL_MAGIC)
		return -EPROTO;
	copy_name(out, b->label);
	nul = memchr(out, 0, IVSHM_RGN_LABEL_LEN);
	if (!nul || !token_ok(out, (size_t)(nul - out)))
		return -EPROTO;
	return (int)(nul - out);
}

IVSHM_EXPORT int ivshm_region_set_label(struct ivshm_region *r,
					const char *label)
{
	char cur[IVSHM_RGN_LABEL_LEN];
	struct ivshm_rgn_label *b;
	size_t len;
	int64_t lim, off;

	if (!r || !label)
		return fail(EINVAL);
	len = strnlen(label, IVSHM_RGN_LABEL_LEN);
	if (!token_ok(label, len))
		return fail(EINVAL);
	lim = region_check(r);
	if (lim < 0)
		return fail((int)-lim);
	if (label_read(r, (uint64_t)lim, cur) == (int)len &&
	    !memcmp(cur, label, len))
		return 0;

	/* A new block (bump allocator, CAS: channel creators race with us). */
	off = region_alloc(r, (uint64_t)lim, sizeof(*b));
	if (off < 0)
		return fail((int)-off);
	b = (struct ivshm_rgn_label *)(r->base + off);
	memset(b, 0, sizeof(*b));
	b->magic = IVSHM_LBL_MAGIC;
	memcpy(b->label, label, len);
	atomic_store_explicit(&rgn(r)->label_off, (uint64_t)off,
			      memory_order_release);
	return 0;
}

IVSHM_EXPORT ssize_t ivshm_region_label(struct ivshm_region *r, char *buf,
					size_t cap)
{
	char cur[IVSHM_RGN_LABEL_LEN];
	int64_t lim;
	int len;

	if (!r || !buf)
		return fail(EINVAL);
	lim = region_check(r);
	if (lim < 0)
		return fail((int)-lim);
	len = label_read(r, (uint64_t)lim, cur);
	if (len < 0)
		return fail(-len);
	if ((size_t)len >= cap)
		return fail(ERANGE);
	memcpy(buf, cur, (size_t)len + 1);
	return len;
}

/* ---- channel table --------------------------------------------------- */

static bool name_eq(const struct desc_snap *s, const char *name, size_t len)
{
	return memchr(s->name, 0, IVSHM_RGN_NAME_LEN) &&
	       memcmp(s->name, name, len + 1) == 0;
}

static int check_name(const char *name, size_t *len)
{
	if (!name)
		return -EINVAL;
	*len = strnlen(name, IVSHM_RGN_NAME_LEN);
	if (*len == 0 || *len >= IVSHM_RGN_NAME_LEN)
		return -EINVAL;
	return 0;
}

/* ---- channel handle -------------------------------------------------- */

static struct ivshm_chan *chan_alloc(void)
{
	struct ivshm_chan *c = aligned_alloc(64, sizeof(*c));

	if (c)
		memset(c, 0, sizeof(*c));
	return c;
}

static void chan_setup(struct ivshm_chan *c, const struct ivshm_region *r,
		       struct ivshm_rgn_desc *d, struct ivshm_chn_hdr *h,
		       uint64_t ring, uint32_t gen, int role,
		       const struct ivshm_signal *sig)
{
	c->desc = d;
	c->rgn_genp = &rgn(r)->gen;
	c->rgn_gen = r->gen;
	c->hdr = h;
	c->data = (unsigned char *)h + IVSHM_CHN_HDR_SIZE;
	c->size = ring;
	c->mask = ring - 1;
	c->max_msg = ring / 4;
	c->role = role;
	c->gen = gen;
	c->spin_ns = WAKE_DEFAULT_SPIN_NS;
	c->rel_step = ring / 8 < REL_STEP_MAX ? ring / 8 : REL_STEP_MAX;
	if (role == IVSHM_CHAN_PRODUCER) {
		c->my_idx = &h->prod_idx;
		c->peer_idx = &h->cons_idx;
		c->my_evt = &h->prod_evt;
		c->peer_evt = &h->cons_evt;
	} else {
		c->my_idx = &h->cons_idx;
		c->peer_idx = &h->prod_idx;
		c->my_evt = &h->cons_evt;
		c->peer_evt = &h->prod_evt;
	}
	if (sig) {
		/* the fields the caller's struct has; the others stay NULL */
		sized_copy(&c->sig, sig->size, sig, sizeof(c->sig));
		c->has_sig = c->sig.wait || c->sig.notify;
	} else {
		c->sig.fd = -1;
	}
}

static void chan_init_hdr(struct ivshm_chn_hdr *h, uint64_t ring,
			  uint32_t gen, int role)
{
	memset(h, 0, sizeof(*h));
	h->magic = IVSHM_CHN_MAGIC;
	h->version = IVSHM_RING_VERSION;
	h->hdr_size = IVSHM_CHN_HDR_SIZE;
	h->ring_size = ring;
	h->max_msg = (uint32_t)(ring / 4);
	atomic_store_explicit(&h->gen, gen, memory_order_relaxed);
	atomic_store_explicit(&h->prod_idx, 0, memory_order_relaxed);
	atomic_store_explicit(&h->cons_idx, 0, memory_order_relaxed);
	atomic_store_explicit(role == IVSHM_CHAN_PRODUCER ?
			      &h->prod_evt.epoch : &h->cons_evt.epoch,
			      1, memory_order_relaxed);
}

/*
 * Two creators of one name may each claim a slot before seeing the other's.
 * Each writes its name into its claimed slot, then (after a full fence)
 * looks for the name in the other slots: one of any two always sees the
 * other.  A ready channel, or a claim in a lower slot, wins; a claim in a
 * higher slot is waited for (it backs off or completes) for at most a
 * second.  Return: 0 (ours is the only one), -EEXIST or -EAGAIN.
 */
static int claim_unique(const struct ivshm_region *r, unsigned int self,
			const char *name, size_t nlen)
{
	uint64_t deadline = now_ns() + 1000000000ull;
	struct desc_snap s;
	unsigned int j;

	atomic_thread_fence(memory_order_seq_cst);
	for (j = 0; j < IVSHM_RGN_MAX_CHANS; j++) {
		if (j == self)
			continue;
		for (;;) {
			uint32_t st;

			if (now_ns() > deadline)
				return -EAGAIN;
			if (desc_read(r, j, &s) < 0)
				continue;
			st = IVSHM_DESC_ST(s.state);
			if (st == IVSHM_DESC_FREE || !name_eq(&s, name, nlen))
				break;
			/* READY or DYING (may become READY again) */
			if (st != IVSHM_DESC_INIT || j < self)
				return -EEXIST;
			sched_yield();
		}
	}
	return 0;
}

static int role_of(unsigned int flags)
{
	unsigned int role = flags & ROLE_MASK;

	if (role != IVSHM_CHAN_PRODUCER && role != IVSHM_CHAN_CONSUMER)
		return -EINVAL;
	return (int)role;
}

IVSHM_EXPORT struct ivshm_chan *ivshm_chan_create(struct ivshm_region *r,
		const char *name, size_t ring_size, unsigned int flags,
		const struct ivshm_signal *sig)
{
	struct ivshm_rgn_hdr *h;
	struct ivshm_chn_hdr *ch;
	struct ivshm_chan *c;
	struct desc_snap s;
	uint64_t area, kept;
	uint32_t st, gen;
	size_t nlen;
	int64_t lim, off;
	int role, slot = -1, err;
	unsigned int i;

	role = role_of(flags);
	if (!r || role < 0 || check_name(name, &nlen) < 0 ||
	    (sig && sig->size < IVSHM_SIGNAL_SIZE_V1) ||
	    (flags & ~(ROLE_MASK | IVSHM_CHAN_RESET |
		       IVSHM_CHAN_AUTODELETE)) ||
	    !is_pow2(ring_size) || ring_size < IVSHM_CHN_MIN_RING ||
	    ring_size > IVSHM_CHN_MAX_RING) {
		errno = EINVAL;
		return NULL;
	}
	lim = region_check(r);
	if (lim < 0) {
		errno = (int)-lim;
		return NULL;
	}
	c = chan_alloc();
	if (!c)
		return NULL;
	h = rgn(r);
	area = IVSHM_CHN_HDR_SIZE + (uint64_t)ring_size;

	/* Existing channel of that name? */
	for (i = 0; i < IVSHM_RGN_MAX_CHANS; i++) {
		if (desc_read(r, i, &s) < 0) {
			err = EAGAIN;
			goto out;
		}
		if (IVSHM_DESC_ST(s.state) == IVSHM_DESC_FREE ||
		    !name_eq(&s, name, nlen))
			continue;
		if (!(flags & IVSHM_CHAN_RESET) ||
		    IVSHM_DESC_ST(s.state) != IVSHM_DESC_READY) {
			err = EEXIST;
			goto out;
		}
		if (!entry_ok(&s, (uint64_t)lim) || s.size != area) {
			err = s.size != area ? EEXIST : EPROTO;
			goto out;
		}
		if (check_overlap(r, (uint64_t)lim, i, s.offset, s.extent,
				  false) < 0) {
			err = EPROTO;
			goto out;
		}
		/* Re-initialise in place with a new generation. */
		gen = (IVSHM_DESC_GEN(s.state) + 1) & 0xffffff;
		st = s.state;
		if (!atomic_compare_exchange_strong(&h->desc[i].state, &st,
				IVSHM_DESC_WORD(gen, IVSHM_DESC_INIT))) {
			err = EAGAIN;
			goto out;
		}
		ch = (struct ivshm_chn_hdr *)(r->base + s.offset);
		goto init;
	}

	/* Claim a free slot, with space a deleted channel left, or none. */
	slot = slot_claim(r, (uint64_t)lim, area, &gen, &kept);
	if (slot < 0) {
		err = -slot;
		goto out;
	}
	i = (unsigned int)slot;
	memset(h->desc[i].name, 0, IVSHM_RGN_NAME_LEN);
	memcpy(h->desc[i].name, name, nlen);
	err = -claim_unique(r, i, name, nlen);
	if (err)
		goto free_slot;

	if (kept) {
		off = (int64_t)kept;
	} else {
		/* bump allocator (CAS: both sides may create) */
		off = region_alloc(r, (uint64_t)lim, area);
		if (off < 0) {
			err = (int)-off;
			goto free_slot;
		}
		h->desc[i].offset = (uint64_t)off;
		h->desc[i].extent = area;	/* a multiple of 64 */
	}
	h->desc[i].size = area;
	ch = (struct ivshm_chn_hdr *)(r->base + off);
init:
	chan_setup(c, r, &h->desc[i], ch, ring_size, gen, role, sig);
	chan_init_hdr(ch, ring_size, gen, role);
	if (flags & IVSHM_CHAN_AUTODELETE)
		ch->flags = IVSHM_CHN_F_AUTODELETE;
	c->autodelete = flags & IVSHM_CHAN_AUTODELETE;
	/* no record at position 0 yet */
	atomic_store_explicit(rec_word(c, 0), IVSHM_REC_NONE,
			      memory_order_relaxed);
	c->my_epoch = 1;
	atomic_store_explicit(&h->desc[i].state,
			      IVSHM_DESC_WORD(gen, IVSHM_DESC_READY),
			      memory_order_release);
	return c;

free_slot:
	atomic_store_explicit(&h->desc[i].state,
			      IVSHM_DESC_WORD(gen, IVSHM_DESC_FREE),
			      memory_order_release);
out:
	free(c);
	errno = err;
	return NULL;
}

/*
 * Where a producer that attaches goes on: at the end of what was
 * published.  Follow the records from cons_idx (checked like the
 * consumer checks them) to the zero word after the last one.  prod_idx,
 * stored before each publishing header, is there or beyond: a predecessor
 * that died between the two stores leaves prod_idx past a batch that no
 * header published, and that batch is dropped like an uncommitted one.
 * On return *@prod is the position (also stored in prod_idx); -EPROTO if
 * the records do not lead there.
 */
static int prod_resume(struct ivshm_chan *c, uint64_t cons, uint64_t *prod)
{
	uint64_t at = cons, span, h;

	/* bounded: prod - cons <= ring size, and each record is >= 8 bytes */
	while (at != *prod) {
		h = atomic_load_explicit(rec_word(c, at), memory_order_acquire);
		if (h == IVSHM_REC_NONE) {
			*prod = at;
			atomic_store_explicit(c->my_idx, at,
					      memory_order_relaxed);
			break;
		}
		span = rec_span(c, h, at & c->mask);
		if (!span || span > *prod - at)
			return -EPROTO;
		at += span;
	}
	return 0;
}

/*
 * Where a consumer that attaches goes on: after everything its
 * predecessor released, done_idx, which may be ahead of cons_idx (see
 * do_release).  Follow the records from cons_idx, checked as the consumer
 * checks them; go on at done_idx only if they lead there, else at
 * cons_idx: a garbage done_idx, or an older writer's 0, costs messages
 * delivered again, never a record skipped or read from its middle.  The
 * position is stored in done_idx.
 */
static uint64_t cons_resume(struct ivshm_chan *c, uint64_t cons)
{
	uint64_t done, at = cons, span, h;

	done = atomic_load_explicit(&c->my_evt->done_idx, memory_order_relaxed);
	/* bounded: done - cons <= ring size, and each record is >= 8 bytes */
	if (done - cons > c->size)
		done = cons;
	while (at != done) {
		h = atomic_load_explicit(rec_word(c, at), memory_order_acquire);
		span = rec_span(c, h, at & c->mask);
		if (!span || span > done - at) {
			done = cons;
			break;
		}
		at += span;
	}
	atomic_store_explicit(&c->my_evt->done_idx, done, memory_order_relaxed);
	return done;
}

IVSHM_EXPORT struct ivshm_chan *ivshm_chan_attach(struct ivshm_region *r,
		const char *name, unsigned int flags,
		const struct ivshm_signal *sig)
{
	struct ivshm_chn_hdr *ch;
	struct ivshm_chn_evt *evt;
	struct ivshm_chan *c;
	struct desc_snap s;
	uint64_t ring, prod, cons;
	uint32_t e, ne, gen;
	size_t nlen;
	int64_t lim;
	int role, err, found = -1;
	unsigned int i;

	role = role_of(flags);
	if (!r || role < 0 || check_name(name, &nlen) < 0 ||
	    (sig && sig->size < IVSHM_SIGNAL_SIZE_V1) ||
	    (flags & ~(ROLE_MASK | IVSHM_CHAN_TAKEOVER))) {
		errno = EINVAL;
		return NULL;
	}
	lim = region_check(r);
	if (lim < 0) {
		errno = (int)-lim;
		return NULL;
	}
	for (i = 0; i < IVSHM_RGN_MAX_CHANS; i++) {
		if (desc_read(r, i, &s) < 0) {
			errno = EAGAIN;
			return NULL;
		}
		if (IVSHM_DESC_ST(s.state) == IVSHM_DESC_FREE)
			continue;
		if (IVSHM_DESC_ST(s.state) > IVSHM_DESC_DYING) {
			errno = EPROTO;
			return NULL;
		}
		if (!memchr(s.name, 0, IVSHM_RGN_NAME_LEN)) {
			errno = EPROTO;
			return NULL;
		}
		if (name_eq(&s, name, nlen)) {
			found = (int)i;
			break;
		}
	}
	if (found < 0) {
		errno = ENOENT;
		return NULL;
	}
	if (IVSHM_DESC_ST(s.state) != IVSHM_DESC_READY) {
		errno = EAGAIN;
		return NULL;
	}
	gen = IVSHM_DESC_GEN(s.state);
	if (!entry_ok(&s, (uint64_t)lim)) {
		errno = EPROTO;
		return NULL;
	}
	err = check_overlap(r, (uint64_t)lim, i, s.offset, s.extent, false);
	if (err < 0) {
		errno = -err;
		return NULL;
	}
	ch = (struct ivshm_chn_hdr *)(r->base + s.offset);
	if (RD(ch->magic) != IVSHM_CHN_MAGIC) {
		errno = EPROTO;
		return NULL;
	}
	if (RD(ch->version) != IVSHM_RING_VERSION) {
		errno = EPROTONOSUPPORT;
		return NULL;
	}
	ring = RD(ch->ring_size);
	if (RD(ch->hdr_size) != IVSHM_CHN_HDR_SIZE || !is_pow2(ring) ||
	    ring < IVSHM_CHN_MIN_RING || ring > IVSHM_CHN_MAX_RING ||
	    s.size != IVSHM_CHN_HDR_SIZE + ring ||
	    RD(ch->max_msg) != ring / 4 ||
	    (RD(ch->flags) & ~IVSHM_CHN_F_AUTODELETE) ||
	    atomic_load_explicit(&ch->gen, memory_order_acquire) != gen) {
		errno = EPROTO;
		return NULL;
	}
	/* cons first: a consumer never releases past the prod_idx it follows */
	cons = atomic_load_explicit(&ch->cons_idx, memory_order_acquire);
	prod = atomic_load_explicit(&ch->prod_idx, memory_order_acquire);
	if ((prod | cons) & 7 || prod - cons > ring) {
		errno = EPROTO;
		return NULL;
	}

	/* Claim our side: epoch odd = attached. */
	evt = role == IVSHM_CHAN_PRODUCER ? &ch->prod_evt : &ch->cons_evt;
	e = atomic_load_explicit(&evt->epoch, memory_order_relaxed);
	if ((e & 1) && !(flags & IVSHM_CHAN_TAKEOVER)) {
		errno = EBUSY;
		return NULL;
	}
	ne = (e & 1) ? e + 2 : e + 1;
	if (!atomic_compare_exchange_strong(&evt->epoch, &e, ne)) {
		errno = EBUSY;
		return NULL;
	}
	/*
	 * Still the same channel generation, and not freed by a closer
	 * that saw both sides gone (seq_cst: see chan_reclaim)?
	 */
	if (desc_settle(&rgn(r)->desc[i], s.state) != s.state) {
		atomic_compare_exchange_strong(&evt->epoch, &ne, ne + 1);
		errno = EAGAIN;
		return NULL;
	}

	c = chan_alloc();
	if (!c) {
		atomic_compare_exchange_strong(&evt->epoch, &ne, ne + 1);
		errno = ENOMEM;
		return NULL;
	}
	chan_setup(c, r, &rgn(r)->desc[i], ch, ring, gen, role, sig);
	c->my_epoch = ne;
	c->autodelete = RD(ch->flags) & IVSHM_CHN_F_AUTODELETE;
	/* even, and past any value a previous owner may have been rung for */
	c->sleep_seq = (atomic_load_explicit(&evt->sleep,
					     memory_order_relaxed) | 1) + 1;
	atomic_store_explicit(&evt->sleep, c->sleep_seq, memory_order_relaxed);
	if (role == IVSHM_CHAN_PRODUCER) {
		if (prod_resume(c, cons, &prod) < 0) {
			atomic_compare_exchange_strong(&evt->epoch, &ne,
						       ne + 1);
			free(c);
			errno = EPROTO;
			return NULL;
		}
		c->head = c->pub = prod;
		c->cons_cache = cons;
	} else {
		c->cons_pub = cons;
		c->rd = c->rel = cons_resume(c, cons);
	}
	return c;
}

/* The region was formatted again since this handle was made. */
static bool region_stale(const struct ivshm_chan *c)
{
	return atomic_load_explicit(c->rgn_genp, memory_order_relaxed) !=
	       c->rgn_gen;
}

IVSHM_EXPORT void ivshm_chan_close(struct ivshm_chan *c)
{
	uint32_t e;

	if (!c)
		return;
	if (atomic_load_explicit(&c->hdr->gen, memory_order_relaxed) ==
	    c->gen && !region_stale(c)) {
		/* a consumer returns what it released (do_release) */
		if (c->role == IVSHM_CHAN_CONSUMER && c->rel != c->cons_pub &&
		    !chan_current(c))
			atomic_store_explicit(c->my_idx, c->rel,
					      memory_order_release);
		e = c->my_epoch;
		/*
		 * release: everything we published is visible before this;
		 * seq_cst: the peer's close, or an attach, sees it or we see
		 * theirs (chan_reclaim)
		 */
		if (atomic_compare_exchange_strong_explicit(&c->my_evt->epoch,
				&e, e + 1 ? e + 1 : 2, memory_order_seq_cst,
				memory_order_relaxed)) {
			wake_notify(c);
			if (c->autodelete)
				chan_reclaim(c);
		}
	}
	free(c);
}

/* ---- errors and liveness --------------------------------------------- */

int chan_replaced(struct ivshm_chan *c)
{
	c->err = region_stale(c) ? ESTALE : ECONNRESET;
	return fail(c->err);
}

/* The peer broke the protocol, or the channel changed under us. */
int chan_broken(struct ivshm_chan *c)
{
	if (!c->err && region_stale(c))
		c->err = ESTALE;
	if (!c->err) {
		if (atomic_load_explicit(&c->hdr->gen, memory_order_acquire) !=
		    c->gen ||
		    atomic_load_explicit(&c->my_evt->epoch,
					 memory_order_relaxed) != c->my_epoch)
			c->err = ECONNRESET;
		else
			c->err = EPROTO;
	}
	return fail(c->err);
}

/* 0 if the peer may still act; -EPIPE / -ECONNRESET otherwise. */
int check_peer(struct ivshm_chan *c)
{
	uint32_t pe;

	if (atomic_load_explicit(&c->hdr->gen, memory_order_acquire) !=
	    c->gen ||
	    atomic_load_explicit(&c->my_evt->epoch, memory_order_relaxed) !=
	    c->my_epoch || region_stale(c))
		return chan_replaced(c);
	pe = atomic_load_explicit(&c->peer_evt->epoch, memory_order_acquire);
	if (pe && !(pe & 1))
		return -EPIPE;
	if (c->sig.peer_alive) {
		KEEP_ERRNO;

		if (c->sig.peer_alive(c->sig.ctx) == 0)
			return -EPIPE;
	}
	return 0;
}

/* ---- producer -------------------------------------------------------- */

/*
 * The handle, its role, its sticky error and the region's format: every
 * call starts here.
 */
#define CHECK_HANDLE(c, r)						\
	do {								\
		if (unlikely(!(c) || (c)->role != (r)))			\
			return fail(EINVAL);				\
		if (unlikely((c)->err))					\
			return fail((c)->err);				\
		if (unlikely(chan_fresh(c)))				\
			return fail(ESTALE);				\
	} while (0)

/* ... and whether it still owns its side (commit and release check that
 * themselves, right before they publish). */
#define CHECK_ROLE(c, r)						\
	do {								\
		CHECK_HANDLE(c, r);					\
		if (unlikely(chan_current(c)))				\
			return fail((c)->err);				\
	} while (0)

/*
 * Write the header @h of the record at @pos.  The first record after pub
 * keeps its header private until commit (its word stays the zero that
 * stops the consumer); the others are stored now, where the consumer
 * cannot look before it has read that first header.
 */
static inline void put_hdr(struct ivshm_chan *c, uint64_t pos, uint64_t h)
{
	if (pos == c->pub)
		c->pend = h;
	else
		atomic_store_explicit(rec_word(c, pos), h,
				      memory_order_relaxed);
}

/*
 * Reserve @len bytes at head, the room being known (after a padding
 * record if the message does not fit before the end of the ring).
 */
static inline void reserve_at_head(struct ivshm_chan *c, size_t len,
				   uint64_t rec, void **data)
{
	uint64_t off = c->head & c->mask, to_end = c->size - off;

	if (rec > to_end) {
		/* padding record up to the end of the ring */
		put_hdr(c, c->head, (to_end - IVSHM_REC_HDR) |
			((uint64_t)IVSHM_REC_PAD << 32));
		c->head += to_end;
		off = 0;
	}
	put_hdr(c, c->head, len);
	c->head += rec;
	*data = c->data + off + IVSHM_REC_HDR;
}

/* The record (after a padding record), and the zero word after it. */
static inline uint64_t reserve_need(const struct ivshm_chan *c, uint64_t rec)
{
	uint64_t to_end = c->size - (c->head & c->mask);

	return (rec <= to_end ? rec : to_end + rec) + IVSHM_REC_HDR;
}

/* do_reserve without the room it knew of: look again, maybe wait. */
static int __attribute__((noinline)) reserve_slow(struct ivshm_chan *c,
		size_t len, void **data, int timeout_ms)
{
	uint64_t rec = rec_size(len), need = reserve_need(c, rec);
	int r;

	r = prod_space(c, need);
	if (r < 0)
		return r;
	if (!r) {
		if (c->head != c->pub)
			timeout_ms = 0;
		r = chan_wait(c, need, timeout_ms);
		if (r < 0)
			return r;
	}
	reserve_at_head(c, len, rec, data);
	return 0;
}

/* The fast path calls nothing, so it saves no registers. */
static inline int do_reserve(struct ivshm_chan *c, size_t len, void **data,
			     int timeout_ms)
{
	uint64_t rec;

	if (unlikely(len - 1 >= c->max_msg))
		return fail(len ? EMSGSIZE : EINVAL);
	rec = rec_size(len);
	if (unlikely(c->head + reserve_need(c, rec) - c->cons_cache > c->size))
		return reserve_slow(c, len, data, timeout_ms);
	reserve_at_head(c, len, rec, data);
	return 0;
}

/*
 * Publish the reservations: the zero word after them (where the consumer
 * stops next), prod_idx (for attach and enumeration; before the header,
 * so that cons_idx never passes it), then the first record's header,
 * which makes them all visible.  A handle that was replaced (TAKEOVER,
 * RESET) publishes nothing: checked first, after the records were written
 * and right before the stores (see "Takeover and reset" in
 * docs/wire-format.md).
 */
static inline int do_commit(struct ivshm_chan *c)
{
	uint64_t pos = c->pub;

	if (unlikely(chan_current(c))) {
		c->head = pos;
		return fail(c->err);
	}
	if (c->head == pos)
		return 0;
	atomic_store_explicit(rec_word(c, c->head), IVSHM_REC_NONE,
			      memory_order_relaxed);
	atomic_store_explicit(c->my_idx, c->head, memory_order_relaxed);
	c->pub = c->head;
	wake_publish(c, rec_word(c, pos), c->pend, c->pub);
	return 0;
}

IVSHM_EXPORT int ivshm_chan_reserve(struct ivshm_chan *c, size_t len,
				    void **data, int timeout_ms)
{
	CHECK_ROLE(c, IVSHM_CHAN_PRODUCER);
	if (unlikely(!data))
		return fail(EINVAL);
	return do_reserve(c, len, data, timeout_ms);
}

IVSHM_EXPORT int ivshm_chan_commit(struct ivshm_chan *c)
{
	CHECK_HANDLE(c, IVSHM_CHAN_PRODUCER);
	return do_commit(c);
}

IVSHM_EXPORT int ivshm_chan_abort(struct ivshm_chan *c)
{
	CHECK_ROLE(c, IVSHM_CHAN_PRODUCER);
	c->head = c->pub;
	return 0;
}

/*
 * Copy a message into the record whose payload starts at @p, the bytes in
 * the cache line of the record's header last.  A waiting consumer polls
 * that line: when a store to it commits early, a poll takes the line back
 * before commit's header store, which must then fetch it again.  Stored
 * last, those bytes commit in one burst with the header.  Measured with
 * the round trip of ring_rtt_poll_64 made through send: about 517 -> 480
 * ns while lines moved slowly between the two CPUs, the same (about 325
 * ns) while they moved fast.
 */
static inline void rec_copy(void *p, const void *data, size_t len)
{
	size_t head = 64 - IVSHM_REC_HDR - (((uintptr_t)p - IVSHM_REC_HDR) & 63);

	if (len > head) {
		memcpy((unsigned char *)p + head,
		       (const unsigned char *)data + head, len - head);
		len = head;
	}
	memcpy(p, data, len);
}

IVSHM_EXPORT int ivshm_chan_send(struct ivshm_chan *c, const void *data,
				 size_t len, int timeout_ms)
{
	void *p;
	int r;

	CHECK_ROLE(c, IVSHM_CHAN_PRODUCER);
	if (unlikely(!data && len))
		return fail(EINVAL);
	r = do_commit(c);
	if (unlikely(r < 0))
		return r;
	r = do_reserve(c, len, &p, timeout_ms);
	if (unlikely(r < 0))
		return r;
	rec_copy(p, data, len);
	return do_commit(c);
}

IVSHM_EXPORT int ivshm_chan_send_many(struct ivshm_chan *c,
		const struct iovec *msgs, unsigned int n, int timeout_ms)
{
	unsigned int i;
	void *p;
	int r;

	CHECK_ROLE(c, IVSHM_CHAN_PRODUCER);
	if (unlikely(!msgs && n))
		return fail(EINVAL);
	r = do_commit(c);
	if (unlikely(r < 0))
		return r;
	for (i = 0; i < n; i++) {
		r = do_reserve(c, msgs[i].iov_len, &p, i ? 0 : timeout_ms);
		if (unlikely(r < 0)) {
			if (i)
				break;
			return r;
		}
		memcpy(p, msgs[i].iov_base, msgs[i].iov_len);
	}
	r = do_commit(c);
	return r < 0 ? r : (int)i;
}

/* ---- consumer -------------------------------------------------------- */

/* Return what was released to the producer, ringing it if it sleeps
 * for that space. */
static inline void cons_return(struct ivshm_chan *c)
{
	c->cons_pub = c->rel;
	wake_publish(c, c->my_idx, c->rel, c->rel);
}

/* ... unless this handle was replaced (it publishes nothing, as
 * do_commit). */
static void __attribute__((noinline)) cons_flush(struct ivshm_chan *c)
{
	if (!chan_current(c))
		cons_return(c);
}

/* The record at rd: 0 (*data, *len set), 1 (nothing yet), <0 broken. */
static inline int peek_once(struct ivshm_chan *c, const void **data,
			    size_t *len)
{
	uint64_t off, room, h, span;

	for (;;) {
		off = c->rd & c->mask;
		/* one load: the publication and the record's geometry */
		h = atomic_load_explicit(rec_word(c, c->rd),
					 memory_order_acquire);
		if (h == IVSHM_REC_NONE) {
			cons_prefetch(c);
			if (unlikely(c->rel != c->cons_pub))
				cons_flush(c);
			return 1;
		}
		/*
		 * What a producer may have written from rd on: up to the
		 * ring size past what we returned to it, the last 8 bytes
		 * being the zero word after its last record.
		 */
		room = c->cons_pub + c->size - c->rd - IVSHM_REC_HDR;
		span = rec_span(c, h, off);
		if (unlikely(!span || span > room))
			return chan_broken(c);
		c->rd += span;
		/* a padding record: at most once, it ends at offset 0 */
		if (unlikely(h >> 32))
			continue;
		*data = c->data + off + IVSHM_REC_HDR;
		*len = (uint32_t)h;
		c->held++;
		return 0;
	}
}

/* do_peek found nothing: wait (or EAGAIN) and look again. */
static int __attribute__((noinline)) peek_slow(struct ivshm_chan *c,
		const void **data, size_t *len, int timeout_ms)
{
	int r;

	do {
		r = chan_wait(c, 0, c->held ? 0 : timeout_ms);
		if (r < 0)
			return r;
		r = peek_once(c, data, len);
	} while (r > 0);
	return r;
}

static inline int do_peek(struct ivshm_chan *c, const void **data,
			  size_t *len, int timeout_ms)
{
	int r = peek_once(c, data, len);

	if (likely(r <= 0))
		return r;
	return peek_slow(c, data, len, timeout_ms);
}

/*
 * Free what was peeked; a replaced handle frees nothing (as do_commit).
 *
 * The release itself is recorded at once: in cons_idx, or if that store
 * waits, in done_idx on our own event line (where a consumer that takes
 * over resumes; a done_idx behind cons_idx is ignored).  Not both: the
 * producer of a consumer with a doorbell reads that line (our sleep word)
 * at every commit.
 *
 * Returning the space to the producer, the store of cons_idx, may wait: a
 * producer that runs out of room re-reads cons_idx, so with a full ring,
 * one store per message moves that line between the two caches once per
 * message, and the stream runs at the speed of that transfer
 * (ring_stream_64: 40 M msg/s returning every message, 89 M with steps of
 * 1 KiB).  So a consumer without a doorbell returns space when it has
 * released rel_step bytes, when a peek finds the ring empty, when it
 * arms, and when it closes: the producer is never kept from space while
 * the consumer has nothing left to read.  (Also looking, at every
 * release, for whether more is published put a load on the round trip:
 * ring_rtt_poll_64 was 40-50 ns slower.)  A consumer with a doorbell
 * returns space at every release: its producer may sleep on it.
 */
static inline int do_release(struct ivshm_chan *c)
{
	c->held = 0;
	if (unlikely(chan_current(c))) {
		c->rd = c->rel;
		return fail(c->err);
	}
	if (c->rd == c->rel)
		return 0;
	c->rel = c->rd;
	if (!c->sig.notify && c->rel - c->cons_pub < c->rel_step) {
		atomic_store_explicit(&c->my_evt->done_idx, c->rel,
				      memory_order_relaxed);
		return 0;
	}
	cons_return(c);
	return 0;
}

IVSHM_EXPORT int ivshm_chan_peek(struct ivshm_chan *c, const void **data,
				 size_t *len, int timeout_ms)
{
	CHECK_ROLE(c, IVSHM_CHAN_CONSUMER);
	if (unlikely(!data || !len))
		return fail(EINVAL);
	return do_peek(c, data, len, timeout_ms);
}

IVSHM_EXPORT int ivshm_chan_release(struct ivshm_chan *c)
{
	CHECK_HANDLE(c, IVSHM_CHAN_CONSUMER);
	return do_release(c);
}

IVSHM_EXPORT ssize_t ivshm_chan_recv(struct ivshm_chan *c, void *buf,
				     size_t cap, int timeout_ms)
{
	uint64_t rd;
	unsigned int held;
	const void *p = NULL;
	size_t len = 0;
	int r;

	CHECK_ROLE(c, IVSHM_CHAN_CONSUMER);
	if (unlikely(!buf && cap))
		return fail(EINVAL);
	r = do_release(c);
	if (unlikely(r < 0))
		return r;
	rd = c->rd;
	held = c->held;
	r = do_peek(c, &p, &len, timeout_ms);
	if (unlikely(r < 0))
		return r;
	if (unlikely(len > cap)) {
		c->rd = rd;
		c->held = held;
		return fail(EMSGSIZE);
	}
	memcpy(buf, p, len);
	r = do_release(c);
	return r < 0 ? r : (ssize_t)len;
}

IVSHM_EXPORT int ivshm_chan_recv_many(struct ivshm_chan *c, ivshm_chan_cb cb,
				      void *arg, unsigned int max,
				      int timeout_ms)
{
	uint64_t step = c ? c->size / 4 : 0;
	unsigned int n = 0;
	const void *p = NULL;
	size_t len = 0;
	int r, stop;

	CHECK_ROLE(c, IVSHM_CHAN_CONSUMER);
	if (unlikely(!cb))
		return fail(EINVAL);
	r = do_release(c);
	if (unlikely(r < 0))
		return r;
	while (n < max) {
		r = do_peek(c, &p, &len, n ? 0 : timeout_ms);
		if (unlikely(r < 0)) {
			if (n)
				break;
			return r;
		}
		n++;
		stop = cb(p, len, arg);
		if (c->rd - c->rel >= step) {
			r = do_release(c);
			if (unlikely(r < 0))
				return r;
		}
		if (stop)
			break;
	}
	r = do_release(c);
	return r < 0 ? r : (int)n;
}

/* ---- misc ------------------------------------------------------------ */

IVSHM_EXPORT int ivshm_chan_fd(struct ivshm_chan *c)
{
	if (!c)
		return fail(EINVAL);
	if (c->sig.fd < 0)
		return fail(EOPNOTSUPP);
	return c->sig.fd;
}

IVSHM_EXPORT int ivshm_chan_arm(struct ivshm_chan *c)
{
	uint64_t need;

	if (unlikely(!c))
		return fail(EINVAL);
	if (unlikely(c->err))
		return fail(c->err);
	if (unlikely(chan_fresh(c) || chan_current(c)))
		return fail(c->err);
	if (c->role == IVSHM_CHAN_CONSUMER) {
		need = 0;
		if (c->rel != c->cons_pub)
			cons_return(c);
	} else {
		/* wake on any space freed beyond what we last saw */
		need = c->size - (c->head - c->cons_cache) + IVSHM_REC_HDR;
	}
	return chan_arm(c, need);
}

IVSHM_EXPORT int ivshm_chan_set_spin(struct ivshm_chan *c, unsigned int spin_us)
{
	if (!c || spin_us > 1000000)
		return fail(EINVAL);
	c->spin_ns = (uint64_t)spin_us * 1000;
	return 0;
}

IVSHM_EXPORT size_t ivshm_chan_max_msg(const struct ivshm_chan *c)
{
	return c ? c->max_msg : 0;
}

IVSHM_EXPORT int ivshm_chan_stats(const struct ivshm_chan *c,
				  struct ivshm_chan_stats *st)
{
	if (!c || !st || st->size < IVSHM_CHAN_STATS_SIZE_V1)
		return fail(EINVAL);
	sized_copy(st, st->size, &c->stats, sizeof(c->stats));
	return 0;
}

/* ---- enumeration (read-only) ----------------------------------------- */

/* Attach-time checks of one READY entry, without claiming a side. */
static bool chan_entry_ok(const struct ivshm_region *r, unsigned int i,
			  const struct desc_snap *s, uint64_t lim,
			  struct ivshm_chan_info *ci)
{
	struct ivshm_chn_hdr *ch;
	uint64_t ring, prod, cons;
	uint32_t pe, ce;

	if (!memchr(s->name, 0, IVSHM_RGN_NAME_LEN) ||
	    !entry_ok(s, lim) ||
	    check_overlap(r, lim, i, s->offset, s->extent, false) < 0)
		return false;
	ch = (struct ivshm_chn_hdr *)(r->base + s->offset);
	ring = RD(ch->ring_size);
	if (RD(ch->magic) != IVSHM_CHN_MAGIC ||
	    RD(ch->version) != IVSHM_RING_VERSION ||
	    RD(ch->hdr_size) != IVSHM_CHN_HDR_SIZE || !is_pow2(ring) ||
	    ring < IVSHM_CHN_MIN_RING || ring > IVSHM_CHN_MAX_RING ||
	    s->size != IVSHM_CHN_HDR_SIZE + ring ||
	    RD(ch->max_msg) != ring / 4 ||
	    (RD(ch->flags) & ~IVSHM_CHN_F_AUTODELETE) ||
	    atomic_load_explicit(&ch->gen, memory_order_acquire) !=
	    IVSHM_DESC_GEN(s->state))
		return false;
	cons = atomic_load_explicit(&ch->cons_idx, memory_order_acquire);
	prod = atomic_load_explicit(&ch->prod_idx, memory_order_acquire);
	if ((prod | cons) & 7 || prod - cons > ring)
		return false;
	pe = atomic_load_explicit(&ch->prod_evt.epoch, memory_order_relaxed);
	ce = atomic_load_explicit(&ch->cons_evt.epoch, memory_order_relaxed);
	ci->ring_size = ring;
	ci->max_msg = ring / 4;
	ci->queued = prod - cons;
	ci->flags = (pe & 1 ? IVSHM_CHAN_INFO_PRODUCER : 0) |
		    (ce & 1 ? IVSHM_CHAN_INFO_CONSUMER : 0) |
		    (pe && !(pe & 1) ? IVSHM_CHAN_INFO_PRODUCER_LEFT : 0) |
		    (ce && !(ce & 1) ? IVSHM_CHAN_INFO_CONSUMER_LEFT : 0);
	return true;
}

IVSHM_EXPORT int ivshm_region_channels(struct ivshm_region *r,
				       struct ivshm_chan_info *out,
				       unsigned int max)
{
	struct ivshm_chan_info ci;
	struct desc_snap s;
	unsigned int i, n = 0;
	uint32_t stride = 0;
	int64_t lim;
	bool torn;

	if (!r || (!out && max))
		return fail(EINVAL);
	/* the caller's entry size, read before any entry is written */
	if (max) {
		stride = out->size;
		if (stride < IVSHM_CHAN_INFO_SIZE_V1)
			return fail(EINVAL);
	}
	lim = region_check(r);
	if (lim < 0)
		return fail((int)-lim);
	for (i = 0; i < IVSHM_RGN_MAX_CHANS; i++) {
		/* an entry that keeps changing is being (re-)created */
		torn = desc_read(r, i, &s) < 0;
		if (torn)
			s.state = IVSHM_DESC_WORD(0, IVSHM_DESC_INIT);
		if (IVSHM_DESC_ST(s.state) == IVSHM_DESC_FREE)
			continue;
		memset(&ci, 0, sizeof(ci));
		ci.slot = i;
		ci.generation = IVSHM_DESC_GEN(s.state);
		if (!torn && memchr(s.name, 0, IVSHM_RGN_NAME_LEN))
			memcpy(ci.name, s.name, IVSHM_RGN_NAME_LEN);
		switch (IVSHM_DESC_ST(s.state)) {
		case IVSHM_DESC_INIT:
		case IVSHM_DESC_DYING:	/* both sides left: being freed */
			ci.state = IVSHM_CHAN_STATE_INIT;
			break;
		case IVSHM_DESC_READY:
			ci.offset = s.offset;
			if (chan_entry_ok(r, i, &s, (uint64_t)lim, &ci))
				ci.state = IVSHM_CHAN_STATE_READY;
			else
				ci.state = IVSHM_CHAN_STATE_BAD;
			break;
		default:
			ci.state = IVSHM_CHAN_STATE_BAD;
			break;
		}
		if (ci.state == IVSHM_CHAN_STATE_BAD) {
			ci.ring_size = ci.max_msg = ci.queued = 0;
			ci.flags = 0;
		}
		if (n < max)
			sized_copy((char *)out + (size_t)n * stride, stride,
				   &ci, sizeof(ci));
		n++;
	}
	return (int)n;
}
