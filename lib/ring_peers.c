// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libivshm peer directory: peers find each other by name.
 *
 * Wire format: struct ivshm_pdr in ring_layout.h, "Peer directory" in
 * docs/wire-format.md.  The directory is 64 entries of 64 bytes, each
 * written only by the peer that claimed it, seqlock-style: the owner
 * makes seq odd, writes the fields, makes seq even again (release).  A
 * reader copies an entry between two loads of seq and keeps the copy only
 * if seq was even and did not move; then it validates the copy (name
 * terminated and of the label character set, peer id in range).  An entry
 * that stays odd (a peer died while writing, or a hostile one) is skipped
 * after a bounded number of tries.
 *
 * Names are unique: a registrant publishes its entry, issues a full fence
 * and scans the others (Dekker's pattern, as for channel names in
 * ring.c): of two registrants of one name at least one sees the other;
 * the one in the higher slot withdraws, the lower one waits (a second at
 * most) for the higher to withdraw, so exactly one keeps the name.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "ivshm.h"
#include "keep_errno.h"
#include "ring_layout.h"
#include "ring_region.h"
#include "sized.h"

_Static_assert(sizeof(struct ivshm_peer_info) == IVSHM_PEER_INFO_SIZE_V1,
	       "V1");
_Static_assert(IVSHM_PEER_NAME_MAX == IVSHM_PDR_NAME_LEN, "public size");
_Static_assert(IVSHM_PEER_MAX == IVSHM_PDR_ENTRIES, "public size");

#define SNAP_TRIES	20		/* reads of an entry being written */
#define UNIQUE_NS	1000000000ull	/* wait for a same-name registrant */
#define CLAIM_TRIES	64		/* entries taken under our feet */

/* A consistent, validated copy of one entry. */
struct pdr_snap {
	uint32_t seq;
	uint32_t peer_id;
	uint64_t boot;
	uint64_t heartbeat;
	char name[IVSHM_PDR_NAME_LEN];
};

/*
 * The published directory, checked (offset within the region, magic and
 * geometry); with @create, allocate and publish it if there is none.
 * NULL and *@err = -ENOENT if there is none and !@create.
 */
static struct ivshm_pdr *pdr_get(struct ivshm_region *r, uint64_t lim,
				 bool create, int *err)
{
	_Atomic uint64_t *slot = &rgn(r)->peers_off;
	struct ivshm_pdr *d;
	uint64_t off;
	int64_t got;

	off = atomic_load_explicit(slot, memory_order_acquire);
	if (off == 0 && create) {
		/*
		 * Two first registrants may both allocate; the loser's block
		 * stays allocated and unused (once per region format).
		 */
		got = region_alloc(r, lim, sizeof(*d));
		if (got < 0) {
			*err = (int)got;
			return NULL;
		}
		d = (struct ivshm_pdr *)(r->base + got);
		memset(d, 0, sizeof(*d));
		d->magic = IVSHM_PDR_MAGIC;
		d->entries = IVSHM_PDR_ENTRIES;
		d->entry_size = sizeof(d->ent[0]);
		if (atomic_compare_exchange_strong_explicit(slot, &off,
				(uint64_t)got, memory_order_acq_rel,
				memory_order_acquire))
			off = (uint64_t)got;
	}
	if (off == 0) {
		*err = -ENOENT;
		return NULL;
	}
	if ((off & (IVSHM_RGN_ALIGN - 1)) ||
	    off < align_up(IVSHM_RGN_HDR_SIZE, IVSHM_RGN_ALIGN) ||
	    off > lim || sizeof(*d) > lim - off) {
		*err = -EPROTO;
		return NULL;
	}
	d = (struct ivshm_pdr *)(r->base + off);
	if (RD(d->magic) != IVSHM_PDR_MAGIC ||
	    RD(d->entries) != IVSHM_PDR_ENTRIES ||
	    RD(d->entry_size) != sizeof(d->ent[0])) {
		*err = -EPROTO;
		return NULL;
	}
	return d;
}

/*
 * Copy entry @e between two loads of its seq (the reader's half of the
 * seqlock: acquire load, copy, acquire fence, re-load).  -EAGAIN if it was
 * being written.
 */
static int ent_read_once(struct ivshm_pdr_ent *e, struct pdr_snap *s)
{
	const volatile char *n = e->name;
	unsigned int i;

	s->seq = atomic_load_explicit(&e->seq, memory_order_acquire);
	if (s->seq & 1)
		return -EAGAIN;
	s->peer_id = RD(e->peer_id);
	s->boot = RD(e->boot);
	for (i = 0; i < IVSHM_PDR_NAME_LEN; i++)
		s->name[i] = n[i];
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s->seq)
		return -EAGAIN;
	s->heartbeat = atomic_load_explicit(&e->heartbeat,
					    memory_order_relaxed);
	return 0;
}

/*
 * A consistent copy of entry @e: 1 in use (validated), 0 free, -EAGAIN
 * (being written for too long), -EPROTO (fails validation).
 */
static int ent_read(struct ivshm_pdr_ent *e, struct pdr_snap *s)
{
	const char *nul;
	int tries;

	for (tries = 0; ent_read_once(e, s) < 0; tries++) {
		if (tries == SNAP_TRIES)
			return -EAGAIN;
		sched_yield();
	}
	if (s->name[0] == '\0')
		return 0;
	nul = memchr(s->name, 0, IVSHM_PDR_NAME_LEN);
	if (!nul || !token_ok(s->name, (size_t)(nul - s->name)) ||
	    s->peer_id > IVSHM_PDR_MAX_ID)
		return -EPROTO;
	return 1;
}

static bool snap_is(const struct pdr_snap *s, const char *name, size_t len)
{
	return memcmp(s->name, name, len + 1) == 0;
}

/*
 * The writer's half: own entry @e whose seq is @seq (even) by making it
 * odd, write, make it even.  The CAS makes the claim exclusive; the
 * release fence keeps the field stores after the odd seq, the release
 * store keeps them before the even one.  Return the new seq, or 0 if
 * seq was not @seq any more.
 */
static uint32_t ent_write(struct ivshm_pdr_ent *e, uint32_t seq,
			  const char *name, size_t len, uint32_t peer_id,
			  uint64_t boot)
{
	if (!atomic_compare_exchange_strong_explicit(&e->seq, &seq, seq + 1,
			memory_order_relaxed, memory_order_relaxed))
		return 0;
	atomic_thread_fence(memory_order_release);
	e->peer_id = peer_id;
	e->boot = boot;
	atomic_store_explicit(&e->heartbeat, 0, memory_order_relaxed);
	memset(e->name, 0, IVSHM_PDR_NAME_LEN);
	memcpy(e->name, name, len);
	/* 0 means "not claimed" to our callers: skip it on wrap-around */
	seq += 2;
	if (seq == 0)
		seq = 2;
	atomic_store_explicit(&e->seq, seq, memory_order_release);
	return seq;
}

/*
 * After publishing @name in slot @self: is it ours alone?  0 or -EEXIST
 * (a lower slot has it: we withdraw; or a higher slot kept it for a
 * second).  An entry that stays mid-write through ent_read's tries is
 * taken as another name: a registrant writes its entry in a few stores,
 * and a dead or hostile one must not block every registration.
 */
static int name_unique(struct ivshm_pdr *d, unsigned int self,
		       const char *name, size_t len)
{
	uint64_t deadline = now_ns() + UNIQUE_NS;
	struct pdr_snap s;
	unsigned int j;
	int st;

	atomic_thread_fence(memory_order_seq_cst);
	for (j = 0; j < IVSHM_PDR_ENTRIES; j++) {
		if (j == self)
			continue;
		for (;;) {
			st = ent_read(&d->ent[j], &s);
			if (st != 1 || !snap_is(&s, name, len))
				break;
			if (j < self || now_ns() > deadline)
				return -EEXIST;
			sched_yield();
		}
	}
	return 0;
}

/* Our entry, if this handle registered one in the current directory. */
static struct ivshm_pdr_ent *own_entry(struct ivshm_region *r, int *err)
{
	int64_t lim;

	if (r->peer_slot < 0) {
		*err = -ENOENT;
		return NULL;
	}
	lim = region_check(r);
	if (lim < 0 || atomic_load_explicit(&rgn(r)->peers_off,
					    memory_order_acquire) != r->peer_dir) {
		/* formatted again: nothing of ours is left to write */
		r->peer_slot = -1;
		*err = lim < 0 && lim != -ESTALE ? (int)lim : -ESTALE;
		return NULL;
	}
	return &((struct ivshm_pdr *)(r->base + r->peer_dir))->ent[r->peer_slot];
}

IVSHM_EXPORT int ivshm_peer_register(struct ivshm_region *r, const char *name,
				     unsigned int peer_id, uint64_t boot,
				     unsigned int flags)
{
	KEEP_ERRNO;
	struct ivshm_pdr *d;
	struct pdr_snap s;
	struct timespec ts;
	unsigned int i;
	uint32_t seq = 0;
	int64_t lim;
	size_t len;
	int err, st, slot, tries;

	if (!r || !name || peer_id > IVSHM_PDR_MAX_ID ||
	    (flags & ~IVSHM_PEER_REPLACE))
		return -EINVAL;
	len = strnlen(name, IVSHM_PDR_NAME_LEN);
	if (!token_ok(name, len))
		return -EINVAL;
	if (r->peer_slot >= 0)
		return -EBUSY;
	lim = region_check(r);
	if (lim < 0)
		return (int)lim;
	d = pdr_get(r, (uint64_t)lim, true, &err);
	if (!d)
		return err;
	if (!boot) {
		clock_gettime(CLOCK_REALTIME, &ts);
		boot = (uint64_t)ts.tv_sec * 1000000000ull +
		       (uint64_t)ts.tv_nsec;
	}

	/*
	 * The name's entry (taken, or ours to replace), else a free one;
	 * again if another registrant claimed it first.
	 */
	for (tries = 0; tries < CLAIM_TRIES; tries++) {
		slot = -1;
		for (i = 0; i < IVSHM_PDR_ENTRIES; i++) {
			st = ent_read(&d->ent[i], &s);
			if (st == 1 && snap_is(&s, name, len)) {
				if (!(flags & IVSHM_PEER_REPLACE))
					return -EEXIST;
				slot = (int)i;
				seq = s.seq;
				break;
			}
			if (st == 0 && slot < 0) {
				slot = (int)i;
				seq = s.seq;
			}
		}
		if (slot < 0)
			return -ENOSPC;
		seq = ent_write(&d->ent[slot], seq, name, len, peer_id, boot);
		if (seq)
			break;
	}
	if (!seq)
		return -EAGAIN;
	err = name_unique(d, (unsigned int)slot, name, len);
	if (err) {
		ent_write(&d->ent[slot], seq, "", 0, 0, 0);
		return err;
	}
	r->peer_slot = slot;
	r->peer_seq = seq;
	r->peer_dir = (uint64_t)((unsigned char *)d - r->base);
	return slot;
}

IVSHM_EXPORT int ivshm_peer_unregister(struct ivshm_region *r)
{
	struct ivshm_pdr_ent *e;
	int err;

	if (!r)
		return -EINVAL;
	e = own_entry(r, &err);
	if (!e)
		return err;
	r->peer_slot = -1;
	return ent_write(e, r->peer_seq, "", 0, 0, 0) ? 0 : -ECONNRESET;
}

void peer_forget(struct ivshm_region *r)
{
	if (r->peer_slot >= 0)
		ivshm_peer_unregister(r);
}

IVSHM_EXPORT int ivshm_peer_heartbeat(struct ivshm_region *r)
{
	struct ivshm_pdr_ent *e;
	int err;

	if (!r)
		return -EINVAL;
	e = own_entry(r, &err);
	if (!e)
		return err;
	if (atomic_load_explicit(&e->seq, memory_order_relaxed) !=
	    r->peer_seq) {
		r->peer_slot = -1;
		return -ECONNRESET;
	}
	atomic_fetch_add_explicit(&e->heartbeat, 1, memory_order_relaxed);
	return 0;
}

IVSHM_EXPORT int ivshm_peer_lookup(struct ivshm_region *r, const char *name)
{
	KEEP_ERRNO;
	struct ivshm_pdr *d;
	struct pdr_snap s;
	unsigned int i;
	int64_t lim;
	size_t len;
	int err;

	if (!r || !name)
		return -EINVAL;
	len = strnlen(name, IVSHM_PDR_NAME_LEN);
	if (!token_ok(name, len))
		return -EINVAL;
	lim = region_check(r);
	if (lim < 0)
		return (int)lim;
	d = pdr_get(r, (uint64_t)lim, false, &err);
	if (!d)
		return err;
	for (i = 0; i < IVSHM_PDR_ENTRIES; i++)
		if (ent_read(&d->ent[i], &s) == 1 && snap_is(&s, name, len))
			return (int)s.peer_id;
	return -ENOENT;
}

IVSHM_EXPORT int ivshm_peer_list(struct ivshm_region *r,
				 struct ivshm_peer_info *out, unsigned int max)
{
	KEEP_ERRNO;
	struct ivshm_peer_info pi;
	struct ivshm_pdr *d;
	struct pdr_snap s;
	unsigned int i, n = 0;
	uint32_t stride = 0;
	int64_t lim;
	int err;

	if (!r || (!out && max))
		return -EINVAL;
	/* the caller's entry size, read before any entry is written */
	if (max) {
		stride = sized_get(out);
		if (stride < IVSHM_PEER_INFO_SIZE_V1)
			return -EINVAL;
	}
	lim = region_check(r);
	if (lim < 0)
		return (int)lim;
	d = pdr_get(r, (uint64_t)lim, false, &err);
	if (!d)
		return err == -ENOENT ? 0 : err;
	for (i = 0; i < IVSHM_PDR_ENTRIES; i++) {
		if (ent_read(&d->ent[i], &s) != 1)
			continue;
		memset(&pi, 0, sizeof(pi));
		pi.slot = i;
		pi.peer_id = s.peer_id;
		pi.boot = s.boot;
		pi.heartbeat = s.heartbeat;
		memcpy(pi.name, s.name, IVSHM_PDR_NAME_LEN);
		if ((int)i == r->peer_slot && s.seq == r->peer_seq &&
		    (unsigned char *)d - r->base == (ptrdiff_t)r->peer_dir)
			pi.flags |= IVSHM_PEER_INFO_SELF;
		if (n < max)
			sized_copy((char *)out + (size_t)n * stride, stride,
				   &pi, sizeof(pi));
		n++;
	}
	return (int)n;
}
