/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libivshm private: the calls that return int or ssize_t report failure as
 * a negative errno and leave errno as the caller had it (liburing's rule,
 * which liburing keeps on x86 by making raw system calls).  We go through
 * libc, and libc changes errno on the way even when our call succeeds (a
 * read that finds nothing sets EAGAIN), so a call that reaches libc, or a
 * callback of the caller's, puts errno back on every return: KEEP_ERRNO at
 * the top of the scope does it, through the compiler's cleanup attribute.
 * The ring fast path makes no such calls and pays nothing; only its
 * sleeping and waking paths keep errno.
 */
#ifndef IVSHM_KEEP_ERRNO_H
#define IVSHM_KEEP_ERRNO_H

#include <errno.h>

static inline void keep_errno_restore(const int *saved)
{
	errno = *saved;
}

#define KEEP_ERRNO							\
	const int keep_errno_saved_					\
		__attribute__((cleanup(keep_errno_restore), unused)) = errno

#endif /* IVSHM_KEEP_ERRNO_H */
