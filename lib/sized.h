/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libivshm private: filling a struct that starts with "uint32_t size", so
 * that it can grow (the rules are at the top of ivshm.h).  The library
 * builds its complete struct, then copies what fits in both its struct
 * and the caller's, and records in the copy how much that was.
 */
#ifndef IVSHM_SIZED_H
#define IVSHM_SIZED_H

#include <stdint.h>
#include <string.h>

/* Copy min(@dst_size, @full_size) bytes of @full to @dst; that is its size. */
static inline void sized_copy(void *dst, uint32_t dst_size, const void *full,
			      uint32_t full_size)
{
	uint32_t n = dst_size < full_size ? dst_size : full_size;

	memcpy(dst, full, n);
	memcpy(dst, &n, sizeof(n));
}

/* The size a caller wrote into the first field of its struct at @p. */
static inline uint32_t sized_get(const void *p)
{
	uint32_t n;

	memcpy(&n, p, sizeof(n));
	return n;
}

#endif /* IVSHM_SIZED_H */
