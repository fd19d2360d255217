# SPDX-License-Identifier: GPL-2.0-only
# ivshm: top-level build.  See README.md.
#   make            build deps (if missing), module for each kernel, library,
#                   tools, tests (the first run builds the debug-lane kernel:
#                   ~10-20 min)
#   make check      also the test deps (QEMU, kernel images, lint tools),
#                   then checkpatch, sparse, host and in-guest tests on
#                   every kernel, with each lane's wall time
#   make demo       also QEMU and kernel images; the end-to-end demo
#   make bench      ring benchmarks against ck_ring, rte_ring and kernel IPC
# KDIR=<headers dir> builds the module for one other kernel only.

TOP	:= $(abspath .)
B	:= $(TOP)/build
PREFIX	?= /usr/local

# The kernels we build for and boot: the newest installed Debian 6.1 and
# 6.12, each standard and PREEMPT_RT (-rt-amd64), and the debug-kernel
# lane: our 6.12 with lockdep, KASAN, kmemleak... (scripts/debug-kernel.sh
# builds it once per machine, cached outside the clone; DEBUG_LANE=0
# leaves it out).  $(call newest_hdr,SERIES,-v) is the standard flavour,
# $(call newest_hdr,SERIES,) the RT one.
newest_hdr = $(shell ls -dv /usr/src/linux-headers-$(1)*-amd64 2>/dev/null | grep $(2) -- '-rt-amd64$$' | tail -n1)
DEBUG_LANE ?= 1
ifeq ($(DEBUG_LANE),1)
DEBUG_KVER := $(shell $(TOP)/scripts/debug-kernel.sh --kver 2>/dev/null)
endif
KVERS	?= $(patsubst /usr/src/linux-headers-%,%,$(call newest_hdr,6.1.,-v) \
	$(call newest_hdr,6.12.,-v) $(call newest_hdr,6.1.,) \
	$(call newest_hdr,6.12.,)) $(DEBUG_KVER)
ifneq ($(KDIR),)
KVERS	:= $(shell $(MAKE) -s -C $(KDIR) kernelrelease 2>/dev/null)
endif
# Our kernels (the debug lane) live in $(B)/kernels/KVER, a link to the cache.
# So do the arm64 lane's (mk/arm64.mk), cross-built with $(KMOD_CROSS).
KDIR_OF	= $(if $(KDIR),$(KDIR),$(if $(filter $(DEBUG_KVER) $(ARM64_KVERS),$(1)),$(B)/kernels/$(1)/build,/usr/src/linux-headers-$(1)))
# Our own module build (and so make check) is strict: W=1 warnings, and
# every warning an error.  kmod/Kbuild alone (DKMS, kmod/Makefile) is not.
KMOD_STRICT := W=1 IVSHM_WERROR=1

CC	?= gcc
WARN	:= -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes
CFLAGS	?= -O2 -g
ALL_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread \
	-I$(TOP)/include -I$(TOP)/lib
KSFT_CFLAGS := -isystem $(B)/ksrc/tools/testing/selftests -isystem $(B)/ksrc/include/uapi -I$(TOP)/include/uapi -Wno-unused-parameter -Wno-missing-prototypes -Wno-format-truncation

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(patsubst lib/%.c,$(B)/lib/obj/%.o,$(LIB_SRCS))
LIB_SO	 := $(B)/lib/libivshm.so.1
LIB_A	 := $(B)/lib/libivshm.a
TOOLS	 := $(patsubst tools/%/,$(B)/tools/%,$(sort $(dir $(wildcard tools/*/*.c))))
HOST_TESTS  := $(patsubst selftests/host/%.c,$(B)/tests/host/%,$(wildcard selftests/host/*.c))
GUEST_TESTS := $(patsubst selftests/guest/%.c,$(B)/tests/guest/%,$(wildcard selftests/guest/*.c))
MODULES	 := $(foreach k,$(KVERS),$(B)/kmod/$(k)/ivshm.ko)

DEPS_STAMP := $(B)/ksrc/.done

# The public targets install missing packages first, then re-run make so
# that what the packages brought (kernel headers) is seen.  A plain make
# installs build dependencies only; QEMU, kernel images and lint tools
# come with make check and make demo (scripts/deps.sh --check, --demo).
# The demo and the benchmarks need no debug-lane kernel and no arm64 lane.
all bench: deps
check: deps-check
demo: deps-demo
all check demo bench:
	@$(MAKE) --no-print-directory _$@ $(if $(filter demo bench,$@),DEBUG_LANE=0 ARM64=0)

# The benchmark's references (mk/bench.mk) are its own packages.
bench: bench-deps

_all: modules lib tools tests

deps:
	@B=$(B) $(TOP)/scripts/deps.sh

deps-check deps-demo:
	@B=$(B) $(TOP)/scripts/deps.sh --$(subst deps-,,$@)

$(DEPS_STAMP):
	@B=$(B) $(TOP)/scripts/deps.sh

modules: $(MODULES)

# The debug lane's kernel: built (or found in the cache) and linked into
# $(B)/kernels, where the module build and the guest harness find it.
ifneq ($(DEBUG_KVER),)
$(B)/kmod/$(DEBUG_KVER)/ivshm.ko: $(B)/kernels/$(DEBUG_KVER)/.done
$(B)/kernels/$(DEBUG_KVER)/.done: scripts/debug-kernel.sh $(wildcard scripts/debug-kernel/*.config)
	@mkdir -p $(B)/kernels
	@dir=$$($(TOP)/scripts/debug-kernel.sh) && ln -sfn "$$dir" $(B)/kernels/$(DEBUG_KVER)
endif

$(B)/kmod/%/ivshm.ko: $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild include/uapi/linux/ivshm.h
	@mkdir -p $(@D)
	@for f in $(TOP)/kmod/*.c $(TOP)/kmod/*.h $(TOP)/kmod/Kbuild; do ln -sf $$f $(@D)/; done
	$(MAKE) -s -C $(call KDIR_OF,$*) M=$(@D) IVSHM_TOP=$(TOP) $(KMOD_STRICT) $(KMOD_CROSS) modules

lib: $(LIB_SO) $(LIB_A) $(B)/lib/libivshm.pc

$(B)/lib/obj/%.o: lib/%.c $(wildcard lib/*.h include/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

$(LIB_SO): $(LIB_OBJS) lib/libivshm.map
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,libivshm.so.1 \
		-Wl,--version-script=lib/libivshm.map -o $@ $(LIB_OBJS) -ludev
	ln -sf libivshm.so.1 $(B)/lib/libivshm.so

$(LIB_A): $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(B)/lib/libivshm.pc: lib/libivshm.pc.in include/ivshm.h
	sed -e 's|@PREFIX@|$(PREFIX)|' \
	    -e 's|@VERSION@|$(shell $(TOP)/scripts/version.sh)|' $< > $@

tools: $(TOOLS)

.SECONDEXPANSION:
$(B)/tools/%: $$(wildcard tools/%/*.c tools/%/*.h) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) $(LIB_A) -ludev

# Host halves of in-guest scenarios (selftests/vm/*.c), driven by the harness.
VM_HOST  := $(patsubst selftests/vm/%.c,$(B)/tests/vmhost/%,$(wildcard selftests/vm/*.c))

tests: $(HOST_TESTS) $(GUEST_TESTS) $(VM_HOST)

$(B)/tests/vmhost/%: selftests/vm/%.c $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_A) -ludev

$(B)/tests/host/%: selftests/host/%.c $(LIB_A) $(DEPS_STAMP) $(wildcard selftests/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(KSFT_CFLAGS) -Iselftests -o $@ $< $(LIB_A) -ludev

# The lost-wakeup and create-race tests build the ring sources themselves,
# with the delay hooks of lib/test_hook.h compiled in (the library proper
# has none).
RING_SRCS := $(wildcard lib/ring*.c)
$(B)/tests/host/ring_wakeup $(B)/tests/host/ring_create_race: $(B)/tests/host/%: selftests/host/%.c $(RING_SRCS) $(wildcard lib/*.h include/*.h) $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(KSFT_CFLAGS) -DIVSHM_TEST_HOOKS -Iselftests -o $@ $< $(RING_SRCS)

$(B)/tests/guest/%: selftests/guest/%.c $(LIB_A) $(DEPS_STAMP) $(wildcard selftests/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(KSFT_CFLAGS) -Iselftests -o $@ $< $(LIB_A) -ludev

# The compat ioctl path: a static i386 program (gcc-multilib).
$(B)/tests/guest/driver_compat32: selftests/guest/driver_compat32.c $(DEPS_STAMP) $(wildcard selftests/*.h)
	@mkdir -p $(@D)
	$(CC) -m32 -static $(ALL_CFLAGS) $(KSFT_CFLAGS) -Iselftests -o $@ $<

# io_uring through liburing (liburing-dev), linked statically: the
# initramfs carries only the shared libraries of what it copies.
$(B)/tests/guest/driver_pages: selftests/guest/driver_pages.c $(DEPS_STAMP) $(wildcard selftests/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(KSFT_CFLAGS) -Iselftests -o $@ $< -l:liburing.a

-include $(wildcard mk/*.mk)

_check: _all
	@python3 $(TOP)/selftests/check.py --kvers "$(KVERS)" $(if $(filter 1,$(ARM64)),--arm64-kvers "$(ARM64_KVERS)")

# make demo [GUESTS=1|2] [MESSAGES=n] [KERNEL=6.1|6.12]
KERNEL	?= 6.12
_demo: _all
	@python3 $(TOP)/selftests/vm/demo.py \
		--kver "$(firstword $(filter $(KERNEL).%,$(KVERS)) $(lastword $(KVERS)))"

_bench: _all
	@$(MAKE) --no-print-directory bench-run

clean:
	rm -rf $(B)

.PHONY: all deps deps-check deps-demo modules lib tools tests check demo bench clean _all _check _demo _bench
