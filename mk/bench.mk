# SPDX-License-Identifier: GPL-2.0-only
# Message ring benchmarks (tools/ivshm-bench): our rings against ck_ring,
# DPDK's rte_ring and the kernel's IPC, message for message, in the same
# run (see docs/man/ivshm-bench.1).
#   make bench                          install the references' packages,
#                                       build, run 9 rounds, print the table
#                                       and save build/bench/RESULT.{json,txt}
#   make bench BENCH_ARGS="-r 7"        more rounds; "--strict" fails on a miss
#   make bench BENCH_FIFO=              without --fifo (the default as root:
#                                       both sides SCHED_FIFO, so that other
#                                       load does not preempt a measurement)
#   make bench-save                     copy build/bench/ to docs/bench/ and
#                                       regenerate README's performance table
#
# The references ck_ring (libck-dev, headers only) and rte_ring (libdpdk-dev)
# are built in when their headers are found; without them those cases are
# reported as skipped.  BENCH_REFS=none leaves them out on purpose.
BENCH_ARGS ?=
BENCH_FIFO ?= $(if $(filter 0,$(shell id -u)),--fifo)
BENCH_REFS ?= auto

BENCH_DIR  := tools/ivshm-bench
BENCH_OBJ  := $(B)/bench-obj
BENCH_OBJS := $(patsubst $(BENCH_DIR)/%.c,$(BENCH_OBJ)/%.o,$(wildcard $(BENCH_DIR)/*.c))

ifeq ($(BENCH_REFS),auto)
BENCH_CK  := $(if $(wildcard /usr/include/ck_ring.h),1)
BENCH_RTE := $(shell pkg-config --exists libdpdk 2>/dev/null && echo 1)
endif
# DPDK's headers want its own flags (-march, -include rte_config.h); as
# system headers, their warnings are not ours.
# librte_ring is opened at run time (see cases_rte.c), by the name of the
# library found here.
RTE_LIB    := $(if $(BENCH_RTE),$(notdir $(realpath $(shell pkg-config --variable=libdir libdpdk)/librte_ring.so)))
RTE_CFLAGS := $(if $(BENCH_RTE),-DIVSHM_BENCH_RTE -DRTE_RING_LIB='"$(RTE_LIB)"' $(patsubst -I%,-isystem %,$(shell pkg-config --cflags libdpdk)))
CK_CFLAGS  := $(if $(BENCH_CK),-DIVSHM_BENCH_CK)

# Rebuild when what was found changes.
BENCH_CFG  := $(BENCH_OBJ)/refs
bench_cfg  := ck=$(BENCH_CK) rte=$(RTE_LIB)
$(shell mkdir -p $(BENCH_OBJ); [ "$$(cat $(BENCH_CFG) 2>/dev/null)" = "$(bench_cfg)" ] || echo "$(bench_cfg)" > $(BENCH_CFG))

$(BENCH_OBJ)/cases_ck.o: EXTRA_CFLAGS := $(CK_CFLAGS)
$(BENCH_OBJ)/cases_rte.o: EXTRA_CFLAGS := $(RTE_CFLAGS)

$(BENCH_OBJ)/%.o: $(BENCH_DIR)/%.c $(wildcard $(BENCH_DIR)/*.h) include/ivshm.h $(BENCH_CFG)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(EXTRA_CFLAGS) -c -o $@ $<

$(B)/tools/ivshm-bench: $(BENCH_OBJS) $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $(BENCH_OBJS) $(LIB_A) -ludev -lm

# The packages of the references, then the run.
bench-deps:
	@B=$(B) $(TOP)/scripts/deps.sh --bench

bench-run: $(B)/tools/ivshm-bench
	$(B)/tools/ivshm-bench --save $(B)/bench -r 9 $(BENCH_FIFO) $(BENCH_ARGS)

bench-save:
	@test -f $(B)/bench/RESULT.json || { echo "run make bench first" >&2; exit 1; }
	mkdir -p docs/bench
	cp $(B)/bench/RESULT.json $(B)/bench/RESULT.txt docs/bench/
	python3 $(TOP)/scripts/bench_readme.py --update

.PHONY: bench-deps bench-run bench-save
