# SPDX-License-Identifier: GPL-2.0-only
# arm64 guests: ivshm.ko cross-built for Debian's arm64 6.1 and 6.12
# kernels, and the library, tools and guest tests cross-built for aarch64
# (into $(B)/arm64/), for the arm64 lane of make check.  The kernels, their
# headers, the arm64 userland of the test initramfs and the cross gcc are
# Debian packages extracted into a cache by scripts/arm64-kernels.sh (see
# there why they are not installed).  ARM64=0 leaves the lane out.
ARM64 ?= 1
ifeq ($(ARM64),1)
ARM64_KVERS := $(shell $(TOP)/scripts/arm64-kernels.sh --kvers 2>/dev/null)
ARM64_CC := $(shell $(TOP)/scripts/arm64-kernels.sh --cc-path 2>/dev/null)
ARM64_USERLAND := $(shell $(TOP)/scripts/arm64-kernels.sh --root 2>/dev/null)/userland
ARM64_MODULES := $(foreach k,$(ARM64_KVERS),$(B)/kmod/$(k)/ivshm.ko)
# What runs in an arm64 guest: all but the x86-only tests (the i386 compat
# test, the PAT memory types of the memtype scenario and its struct-page
# I/O, which links x86's liburing.a), and the lost-wakeup stress of the host tests (selftests/guest/ring_wakeup.sh).
ARM64_GUEST_TESTS := $(filter-out %/driver_compat32 %/driver_memtype %/driver_pages,$(GUEST_TESTS))

_all: arm64
arm64: $(ARM64_MODULES) $(B)/arm64/.userland

# The cross-build flags of the kernel build: the headers' own Makefile
# names gcc-12 with the cross prefix, which the extracted gcc provides
# under the plain name only.
$(ARM64_MODULES): KMOD_CROSS := ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- CC=$(ARM64_CC)
$(foreach k,$(ARM64_KVERS),$(eval $(B)/kmod/$(k)/ivshm.ko: $(B)/kernels/$(k)/.done))
# The caches are keyed by release and version (the gcc's path names its
# version): what exists is up to date.
$(B)/kernels/%-arm64/.done: | $(ARM64_CC)
	@mkdir -p $(B)/kernels
	@$(TOP)/scripts/arm64-kernels.sh | while read -r k dir; do \
		ln -sfn "$$dir" $(B)/kernels/$$k; done
	@test -e $@

$(ARM64_CC):
	@$(TOP)/scripts/arm64-kernels.sh --cc >/dev/null

# The user space, by this Makefile itself with the cross compiler and
# $(B)/arm64 as its build directory (the benchmark without the x86 builds
# of its references), linking the extracted arm64 libudev.
$(ARM64_USERLAND)/.done:
	@$(TOP)/scripts/arm64-kernels.sh --userland >/dev/null

$(B)/arm64/.userland: mk/arm64.mk selftests/host/ring_wakeup.c $(ARM64_CC) $(ARM64_USERLAND)/.done $(LIB_SRCS) $(wildcard lib/*.h include/*.h tools/*/*.[ch] selftests/guest/*.c selftests/*.h)
	@$(MAKE) --no-print-directory -f $(TOP)/Makefile B=$(B)/arm64 \
		CC=$(ARM64_CC) CFLAGS="$(CFLAGS) -L$(ARM64_USERLAND)/usr/lib/aarch64-linux-gnu" ARM64=0 DEBUG_LANE=0 KVERS=none BENCH_REFS=none lib tools \
		$(patsubst $(B)/%,$(B)/arm64/%,$(ARM64_GUEST_TESTS)) \
		$(B)/arm64/tests/host/ring_wakeup
	@touch $@

.PHONY: arm64
endif
