#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# README's performance figures come from a saved `make bench` result:
#  - README's tables are what scripts/bench_readme.py generates from
#    docs/bench/RESULT.json, and every figure in them is on the line of
#    the same case or target in docs/bench/RESULT.txt (the printed table);
#  - the saved result is a full run: every fixed case, 5 or more rounds,
#    no failed check;
#  - README's Performance section has no ratio outside the generated
#    tables (no hand-copied figure, no ratio without its reference).
# TAP output; exit status 1 if anything failed.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
echo "1..3"
failed=0

if out=$(python3 "$top/scripts/bench_readme.py" --check 2>&1); then
	echo "ok 1 readme_tables_from_saved_result"
else
	failed=1
	echo "not ok 1 readme_tables_from_saved_result"
fi
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'

python3 - "$top" <<'PY'
import json, re, sys

top = sys.argv[1]
names = """ring_stream_64 ring_stream_64_batch32 ring_stream_64k ring_rtt_poll_64
ring_rtt_block_64 ring_rtt_wake_64 ring_stream_64_bursty ref_shm_pingpong
ref_eventfd_rtt ref_seqpacket_64 ref_seqpacket_64_mmsg ref_uds_stream_64k
ref_ck_ring_64 ref_rte_ring_64 ref_rte_ring_64k""".split()
failed = False

why = []
try:
    res = {o["case"]: o for o in json.load(open(top + "/docs/bench/RESULT.json"))}
    for n in names:
        o = res.get(n)
        if o is None:
            why.append("%s missing" % n)
        elif o["checks"] != "ok":
            why.append("%s: %s" % (n, o["checks"]))
        elif o["runs"] < 5:
            why.append("%s: %d rounds" % (n, o["runs"]))
except (OSError, ValueError, KeyError) as e:
    why.append(str(e))
for w in why:
    print("# " + w)
print("%sok 2 saved_result_is_a_full_run" % ("not " if why else ""))
failed |= bool(why)

readme = open(top + "/README.md").read()
sec = readme[readme.index("## Performance"):]
sec = sec[:sec.find("\n## ", 3)]
sec = re.sub(r"<!-- bench: generated.*?<!-- bench: end -->", "", sec,
             flags=re.S)
ratios = re.findall(r"\b\d+(?:\.\d+)?x\b|\b\d+(?:\.\d+)?\s*%", sec)
for r in ratios:
    print("# figure outside the generated tables: %s" % r)
print("%sok 3 no_ratio_outside_generated_tables" % ("not " if ratios else ""))
failed |= bool(ratios)
sys.exit(1 if failed else 0)
PY
[ $? = 0 ] || failed=1
exit $failed
