#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Print the project's version, MAJOR.MINOR.PATCH, from its one source: the
# IVSHM_VERSION_* macros of include/ivshm.h (used by the Makefile, the
# install rules, debian/rules and the tests).
h=${1:-$(dirname "$0")/../include/ivshm.h}
v() { sed -n "s/^#define IVSHM_VERSION_$1[[:space:]]*\([0-9]*\)\$/\1/p" "$h"; }
echo "$(v MAJOR).$(v MINOR).$(v PATCH)"
