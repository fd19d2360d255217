# ivshm: top-level build.  See README.md.
#   make            deps (if missing), module for each kernel, library, tools, tests
#   make check      everything, then checkpatch, sparse, host and in-guest tests
#   make demo       the end-to-end demo (host + QEMU guests)
#   make bench      ring benchmarks against ck_ring, rte_ring and kernel IPC
# KDIR=<headers dir> builds the module for one other kernel only.

TOP	:= $(abspath .)
B	:= $(TOP)/build
PREFIX	?= /usr/local

# Debian kernels we build and boot: the newest installed 6.1 and 6.12.
newest_hdr = $(shell ls -dv /usr/src/linux-headers-$(1)*-amd64 2>/dev/null | tail -n1)
KVERS	?= $(patsubst /usr/src/linux-headers-%,%,$(call newest_hdr,6.1.) $(call newest_hdr,6.12.))
ifneq ($(KDIR),)
KVERS	:= $(shell $(MAKE) -s -C $(KDIR) kernelrelease 2>/dev/null)
endif
KDIR_OF	= $(if $(KDIR),$(KDIR),/usr/src/linux-headers-$(1))

CC	?= gcc
WARN	:= -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes
CFLAGS	?= -O2 -g
ALL_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -pthread \
	-I$(TOP)/include -I$(TOP)/lib
KSFT_CFLAGS := -isystem $(B)/ksrc/tools/testing/selftests -I$(TOP)/include/uapi -Wno-unused-parameter -Wno-missing-prototypes -Wno-format-truncation

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
# that what the packages brought (kernel headers) is seen.
all check demo bench: deps
	@$(MAKE) --no-print-directory _$@

# The benchmark's references (mk/bench.mk) are its own packages.
bench: bench-deps

_all: modules lib tools tests

deps:
	@B=$(B) $(TOP)/scripts/deps.sh

$(DEPS_STAMP):
	@B=$(B) $(TOP)/scripts/deps.sh

modules: $(MODULES)

$(B)/kmod/%/ivshm.ko: $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild include/uapi/linux/ivshm.h
	@mkdir -p $(@D)
	@for f in $(TOP)/kmod/*.c $(TOP)/kmod/*.h $(TOP)/kmod/Kbuild; do ln -sf $$f $(@D)/; done
	$(MAKE) -s -C $(call KDIR_OF,$*) M=$(@D) IVSHM_TOP=$(TOP) W=1 modules

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

$(B)/lib/libivshm.pc: lib/libivshm.pc.in
	sed -e 's|@PREFIX@|$(PREFIX)|' $< > $@

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

# The lost-wakeup test builds the ring sources itself, with the delay hooks
# of lib/test_hook.h compiled in (the library proper has none).
RING_SRCS := $(wildcard lib/ring*.c)
$(B)/tests/host/ring_wakeup: selftests/host/ring_wakeup.c $(RING_SRCS) $(wildcard lib/*.h include/*.h) $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(KSFT_CFLAGS) -DIVSHM_TEST_HOOKS -Iselftests -o $@ $< $(RING_SRCS)

$(B)/tests/guest/%: selftests/guest/%.c $(LIB_A) $(DEPS_STAMP) $(wildcard selftests/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(KSFT_CFLAGS) -Iselftests -o $@ $< $(LIB_A) -ludev

# The compat ioctl path: a static i386 program (gcc-multilib).
$(B)/tests/guest/driver_compat32: selftests/guest/driver_compat32.c $(DEPS_STAMP) $(wildcard selftests/*.h)
	@mkdir -p $(@D)
	$(CC) -m32 -static $(ALL_CFLAGS) $(KSFT_CFLAGS) -Iselftests -o $@ $<

-include $(wildcard mk/*.mk)

_check: _all
	@python3 $(TOP)/selftests/check.py --kvers "$(KVERS)"

# make demo [GUESTS=1|2] [MESSAGES=n] [KERNEL=6.1|6.12]
KERNEL	?= 6.12
_demo: _all
	@python3 $(TOP)/selftests/vm/demo.py \
		--kver "$(firstword $(filter $(KERNEL).%,$(KVERS)) $(lastword $(KVERS)))"

_bench: _all
	@$(MAKE) --no-print-directory bench-run

clean:
	rm -rf $(B)

.PHONY: all deps modules lib tools tests check demo bench clean _all _check _demo _bench
