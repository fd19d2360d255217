#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The make check harness itself (TAP): selftests/check.py reads each test
# program's TAP output.  A kselftest skip ("ok 3 # SKIP why", no name) must
# come out as a SKIP named after its "#  RUN" line, never as a PASS; named
# skips, TODOs, passes and failures keep their names.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)

echo "1..1"
if out=$(cd "$top/selftests" && python3 - <<'PY' 2>&1
import check

got = []
check.report = lambda status, name, detail: got.append((status, name))


class Done:
    returncode = 0
    stderr = ""
    stdout = "\n".join([
        "TAP version 13", "1..5",
        "#  RUN           fix.passes ...", "ok 1 fix.passes",
        "#  RUN           fix.skips ...", "#      SKIP      no device",
        "ok 2 # SKIP no device",
        "ok 3 named # SKIP why",
        "not ok 4 broken",
        "ok 5 a#b",
    ]) + "\n"


check.subprocess.run = lambda *a, **k: Done()
check.run_tap_program("t", ["x"], 10)
want = [("pass", "t:fix.passes"), ("skip", "t:fix.skips"),
        ("skip", "t:named"), ("fail", "t:broken"), ("pass", "t:a#b")]
if got != want:
    raise SystemExit("got %r\nwant %r" % (got, want))
PY
); then
	echo "ok 1 kselftest skips are SKIPs named after their RUN line"
else
	echo "$out" | sed -e 's/^/# /'
	echo "not ok 1 kselftest skips are SKIPs named after their RUN line"
fi
