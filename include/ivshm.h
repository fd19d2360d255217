/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libivshm: shared memory, doorbells and message rings over QEMU's ivshmem
 * device, with one API on the host and in Linux guests.
 *
 * Conventions: opaque handles; calls returning int give 0 (or a count) on
 * success and a negative errno on failure, with errno set too;
 * constructors return NULL and set errno; destructors accept NULL.
 */
#ifndef IVSHM_H
#define IVSHM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(IVSHM_BUILDING_LIB) || defined(__GNUC__)
#define IVSHM_EXPORT __attribute__((visibility("default")))
#else
#define IVSHM_EXPORT
#endif

#define IVSHM_VERSION_STRING "0.1.0"

/* The library's version string, e.g. "0.1.0". */
IVSHM_EXPORT const char *ivshm_version(void);

/* ---- device layer ---------------------------------------------------- */

/* ---- message rings ---------------------------------------------------- */

#ifdef __cplusplus
}
#endif

#endif /* IVSHM_H */
