// SPDX-License-Identifier: LGPL-2.1-or-later
/* libivshm version query. */
#include "ivshm.h"

IVSHM_EXPORT const char *ivshm_version(void)
{
	return IVSHM_VERSION_STRING;
}
