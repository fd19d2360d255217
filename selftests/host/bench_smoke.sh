#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A short run of every ivshm-bench case (counts scaled down, 2 rounds,
# payload checks on, targets reported but not enforced):
#  - --list gives exactly the fixed case names;
#  - each case: one TAP result, ok when it ran both rounds with its checks
#    passing and reported the fields of its kind; SKIP only for the ck_ring
#    and rte_ring references when their library is absent;
#  - --strict exits 1 exactly when a target is missed (or n/a);
#  - --save writes the same JSON and a table with every case and target;
#  - --corrupt-at: one corrupted message makes every case fail its checks
#    (the checks can fail).
# TAP output; exit status 1 if anything failed.  Takes a few seconds.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${B:-$top/build}
bench=$build/tools/ivshm-bench

cases="ring_stream_64 ring_stream_64_batch32 ring_stream_64k ring_rtt_poll_64
ring_rtt_block_64 ring_rtt_wake_64 ring_stream_64_bursty ref_shm_pingpong
ref_eventfd_rtt ref_seqpacket_64 ref_seqpacket_64_mmsg ref_uds_stream_64k
ref_ck_ring_64 ref_rte_ring_64 ref_rte_ring_64k"
ncases=$(echo $cases | wc -w)
NTESTS=$((ncases + 4))
echo "1..$NTESTS"

tmp=$(mktemp -d /tmp/ivshm-bench-smoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$bench" ]; then
	for i in $(seq $NTESTS); do echo "not ok $i ivshm-bench not built ($bench)"; done
	exit 1
fi

n=0
failed=0

# 1. the fixed names
n=$((n + 1))
if [ "$("$bench" --list 2>&1 | tr '\n' ' ')" = "$(echo $cases) " ]; then
	echo "ok $n case names are the fixed ones"
else
	failed=1
	echo "not ok $n case names are the fixed ones"
	"$bench" --list | sed 's/^/# /'
fi

# 2. the smoke run
"$bench" -r 2 -s 0.01 --json --strict --save "$tmp/save" \
	>"$tmp/out.json" 2>"$tmp/err"
rc=$?
sed 's/^/# /' "$tmp/err"

python3 - "$tmp" "$rc" "$n" $cases <<'EOF'
import json, math, sys

tmp, rc, n, names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
failed = False

def result(ok, name, why="", skip=None):
    global n, failed
    n += 1
    if skip:
        print("ok %d %s # SKIP %s" % (n, name, skip))
    elif ok:
        print("ok %d %s" % (n, name))
    else:
        failed = True
        print("not ok %d %s" % (n, name))
        if why:
            print("# " + why)

try:
    res = json.load(open(tmp + "/out.json"))
    by = {o["case"]: o for o in res}
except Exception as e:
    res, by = [], {}
    print("# bad JSON: %s" % e)

def finite(x):
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0

for name in names:
    o = by.get(name)
    if o is None:
        result(False, "smoke:" + name, "missing from --json")
        continue
    chk = o.get("checks", "")
    if chk.startswith("skipped: "):
        if name.startswith(("ref_ck_", "ref_rte_")):
            result(True, "smoke:" + name, skip=chk[9:])
        else:
            result(False, "smoke:" + name, chk)
        continue
    why = []
    if chk != "ok":
        why.append("checks: " + chk)
    if o.get("runs") != 2:
        why.append("runs %r, expected 2" % o.get("runs"))
    for k in ("median", "min", "max"):
        if not finite(o.get(k)):
            why.append("%s %r" % (k, o.get(k)))
    if not o.get("min", 0) <= o.get("median", 0) <= o.get("max", 0):
        why.append("median outside min..max")
    latency = name.startswith("ring_rtt") or name in (
        "ref_shm_pingpong", "ref_eventfd_rtt")
    if (o.get("unit") == "ns") != latency:
        why.append("unit %r" % o.get("unit"))
    if latency and not all(finite(o.get(k)) for k in ("p50", "p99", "p999")):
        why.append("percentiles missing")
    if latency and not o["p50"] <= o["p99"] <= o["p999"]:
        why.append("percentiles out of order")
    blocking = name in ("ring_rtt_block_64", "ring_rtt_wake_64",
                        "ring_stream_64_bursty")
    if blocking and not all(k in o for k in
                            ("sleeps", "doorbells", "doorbells_per_sleep")):
        why.append("sleeps/doorbells missing")
    # a receiver idle for 100 us before each ping must really sleep
    if name == "ring_rtt_wake_64" and not o.get("sleeps"):
        why.append("the receiver never slept")
    result(not why, "smoke:" + name, "; ".join(why))

# --strict: 1 exactly when a check failed or a target is not ok
statuses = [t["status"] for o in res for t in o.get("targets", [])]
bad = any(o.get("checks") != "ok" and not o.get("checks", "").startswith(
    "skipped") for o in res)
want = 1 if bad or any(s != "ok" for s in statuses) else 0
result(len(statuses) == 8 and rc == want, "strict_exit_status",
       "exit %d, expected %d (targets %s)" % (rc, want, statuses))

# --save: the same JSON, and a table with every case and target
try:
    saved = json.load(open(tmp + "/save/RESULT.json"))
    txt = open(tmp + "/save/RESULT.txt").read().splitlines()
    heads = [l.split()[0] for l in txt if l.strip()]
    ok = saved == res and all(c in heads for c in names) and \
        sum(1 for l in txt if " / " in l or "per sleep" in l) == 8 and \
        any(l.startswith("cpu: ") for l in txt) and \
        any(l.startswith("date: ") for l in txt)
    result(ok, "save_writes_json_and_table")
except Exception as e:
    result(False, "save_writes_json_and_table", str(e))
sys.exit(1 if failed else 0)
EOF
[ $? = 0 ] || failed=1
n=$((n + ncases + 2))

# the checks can fail: one corrupted message fails every case that ran
"$bench" -r 1 -s 0.01 --json --corrupt-at 5 >"$tmp/bad.json" 2>/dev/null
rc=$?
n=$((n + 1))
if python3 - "$tmp/bad.json" "$rc" <<'EOF'
import json, sys
try:
    res = json.load(open(sys.argv[1]))
except ValueError as e:
    print("# bad JSON: %s" % e)
    sys.exit(1)
ran = [o for o in res if not o["checks"].startswith("skipped")]
bad = [o["case"] for o in ran if "message 5" not in o["checks"] or o["runs"]]
for o in res:
    print("# %s: %s" % (o["case"], o["checks"]))
sys.exit(1 if bad or int(sys.argv[2]) != 1 or len(ran) < 10 else 0)
EOF
then
	echo "ok $n corrupted_message_fails_every_case"
else
	failed=1
	echo "not ok $n corrupted_message_fails_every_case"
fi

[ "$n" = "$NTESTS" ] || { echo "# ran $n of $NTESTS tests"; failed=1; }
exit $failed
