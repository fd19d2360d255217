/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libivshm message rings: the region handle, shared by ring.c (header,
 * label, channels) and ring_peers.c (peer directory).  Private to the
 * library.
 */
#ifndef IVSHM_RING_REGION_H
#define IVSHM_RING_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ring_layout.h"

struct ivshm_region {
	unsigned char *base;
	size_t size;			/* mapped size: the hard limit */
	uint32_t gen;			/* region generation when opened */
	int peer_slot;			/* our peer directory entry, or -1 */
	uint32_t peer_seq;		/* its seq word as we last stored it */
	uint64_t peer_dir;		/* offset of that entry's directory */
};

/* One load of a field the peer may be rewriting (READ_ONCE). */
#define RD(x)	(*(const volatile __typeof__(x) *)&(x))

static inline struct ivshm_rgn_hdr *rgn(const struct ivshm_region *r)
{
	return (struct ivshm_rgn_hdr *)r->base;
}

static inline uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

_Static_assert(IVSHM_RGN_LABEL_LEN == IVSHM_PDR_NAME_LEN,
	       "labels and peer names share one syntax");

/*
 * A region label or a peer name: 1..31 characters of [A-Za-z0-9._-], not
 * "." or ".." (usable as a file name, printable as is).
 */
static inline bool token_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= IVSHM_RGN_LABEL_LEN)
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return !(s[0] == '.' && (len == 1 || (len == 2 && s[1] == '.')));
}

/* Copy a 32-byte name the peer may be rewriting, one load per byte. */
static inline void copy_name(char *dst, const char *src)
{
	const volatile char *s = src;
	unsigned int i;

	for (i = 0; i < IVSHM_RGN_NAME_LEN; i++)
		dst[i] = s[i];
}

/*
 * Validate the region header now, and that it is still the format this
 * handle was opened on; return the usable size or -errno (-ESTALE: the
 * region was formatted again since).
 */
int64_t region_check(const struct ivshm_region *r);

/*
 * Take @size bytes, 64-aligned, from the region's bump allocator (CAS on
 * alloc_next: both sides may allocate); @lim is region_check's result.
 * Return the offset, or -ENOSPC / -EPROTO.
 */
int64_t region_alloc(const struct ivshm_region *r, uint64_t lim,
		     uint64_t size);

/* ---- ring_table.c: the channel table and its space ---------------- */

/* A consistent copy of one table entry (desc_read). */
struct desc_snap {
	uint32_t state;
	char name[IVSHM_RGN_NAME_LEN];
	uint64_t offset;
	uint64_t size;
	uint64_t extent;
};

/* Snapshot of entry @i, seqlock-style, read again while it changes;
 * -EAGAIN if it kept changing. */
int desc_read(const struct ivshm_region *r, unsigned int i,
	      struct desc_snap *s);

/* A published entry's space and size, against the region limit. */
bool entry_ok(const struct desc_snap *s, uint64_t lim);

/*
 * [@off, @off + @len) of entry @self must not overlap the space of any
 * other published (READY, DYING) entry, nor with @all the space kept by
 * free and initialising ones, the peer directory and the label.
 * 0, -EPROTO (overlap) or -EAGAIN (an entry kept changing).
 */
int check_overlap(const struct ivshm_region *r, uint64_t lim,
		  unsigned int self, uint64_t off, uint64_t len, bool all);

/*
 * Claim a free entry for a channel of @area bytes (its state becomes
 * INIT with generation *@gen): the one whose kept space fits best, else
 * the one whose space is the last block allocated (given back to the
 * bump allocator), else one without space.  *@off is the space to use,
 * or 0: allocate it.  Return the slot, or -ENOSPC / -EAGAIN.
 */
int slot_claim(const struct ivshm_region *r, uint64_t lim, uint64_t area,
	       uint32_t *gen, uint64_t *off);

/*
 * Attach: entry @d was seen as @seen (READY) before our epoch CAS; what
 * is it now?  While a closer holds it DYING (a few instructions), wait
 * for the outcome: READY again (we attached in time) or FREE.
 */
uint32_t desc_settle(struct ivshm_rgn_desc *d, uint32_t seen);

/* ring_peers.c: drop this handle's peer directory entry, if any. */
void peer_forget(struct ivshm_region *r);

#endif /* IVSHM_RING_REGION_H */
