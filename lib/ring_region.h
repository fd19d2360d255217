/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libivshm message rings: the region handle, shared by ring.c (header,
 * label, channels) and ring_peers.c (peer directory).  Private to the
 * library.
 */
#ifndef IVSHM_RING_REGION_H
#define IVSHM_RING_REGION_H

#include <stddef.h>
#include <stdint.h>

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

/* ring_peers.c: drop this handle's peer directory entry, if any. */
void peer_forget(struct ivshm_region *r);

#endif /* IVSHM_RING_REGION_H */
