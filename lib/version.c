// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libivshm version queries: what the library running is, as opposed to
 * the IVSHM_VERSION_* macros, which say what a caller was compiled with.
 */
#include <errno.h>

#include "ivshm.h"

IVSHM_EXPORT const char *ivshm_version(void)
{
	return IVSHM_VERSION_STRING;
}

IVSHM_EXPORT int ivshm_version_major(void)
{
	return IVSHM_VERSION_MAJOR;
}

IVSHM_EXPORT int ivshm_version_minor(void)
{
	return IVSHM_VERSION_MINOR;
}

/*
 * Within a major version, a minor release only adds (symbols in a new
 * version node, fields at the end of size-led structs), so a library at
 * least as new as the caller's minor has all it needs.
 */
IVSHM_EXPORT int ivshm_version_check(int major, int minor)
{
	if (major < 0 || minor < 0)
		return -EINVAL;
	if (major != IVSHM_VERSION_MAJOR || minor > IVSHM_VERSION_MINOR)
		return -ENOTSUP;
	return 0;
}
