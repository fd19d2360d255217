#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the ring wire-format fuzz target with clang (libFuzzer + ASan +
# UBSan) and run it for a bounded time on a copy of the seed corpus.
# TAP output.  IVSHM_FUZZ_SECONDS (default 60) sets the time; $B the build
# directory (default: <repo>/build).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
out="${B:-$top/build}/fuzz"
secs="${IVSHM_FUZZ_SECONDS:-60}"
cc="${FUZZ_CC:-clang}"
bin="$out/ring_fuzz"

echo "1..2"
mkdir -p "$out" || { echo "not ok 1 build ring_fuzz # cannot create $out"; echo "not ok 2 fuzz ring"; exit 1; }

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "ok 1 build ring_fuzz # SKIP $cc not installed"
	echo "ok 2 fuzz ring # SKIP no fuzzer"
	exit 0
fi

# shellcheck disable=SC2086
if ! "$cc" -g -O1 -std=gnu11 -D_GNU_SOURCE \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I"$top/include" -I"$top/lib" \
	"$top"/lib/ring*.c "$top/selftests/fuzz/ring_fuzz.c" \
	-o "$bin" >"$out/build.log" 2>&1; then
	if grep -q "libclang_rt.fuzzer\|cannot find.*fuzzer" "$out/build.log"; then
		echo "ok 1 build ring_fuzz # SKIP libFuzzer runtime missing"
		echo "ok 2 fuzz ring # SKIP no fuzzer"
		exit 0
	fi
	sed 's/^/# /' "$out/build.log"
	echo "not ok 1 build ring_fuzz"
	echo "not ok 2 fuzz ring # SKIP not built"
	exit 1
fi
echo "ok 1 build ring_fuzz"

work=$(mktemp -d "$out/corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$top"/selftests/fuzz/corpus/* "$work"/
cd "$out" || exit 1
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len=17000 -print_final_stats=1 "$work" >"$out/fuzz.log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz.log")
cov=$(grep -o 'cov: [0-9]*' "$out/fuzz.log" | tail -1)
if [ $rc -ne 0 ]; then
	tail -n 60 "$out/fuzz.log" | sed 's/^/# /'
	echo "not ok 2 fuzz ring ($secs s) # crash artifacts in $out"
	exit 1
fi
echo "# $runs runs, $cov, corpus $(ls "$work" | wc -l) inputs"
echo "ok 2 fuzz ring ($secs s)"
exit 0
