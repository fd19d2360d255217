# Message ring benchmarks (tools/ivshm-bench): ring vs Unix socket references,
# medians of several runs, with the targets checked in the printed table.
#   make bench-run                      build and run (7 runs)
#   make bench-run BENCH_ARGS="-r 3"    fewer runs; "--strict" fails on a miss
BENCH_ARGS ?=

bench-run: $(B)/tools/ivshm-bench
	$(B)/tools/ivshm-bench $(BENCH_ARGS)

.PHONY: bench-run
