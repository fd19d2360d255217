#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The ivshm CLI inside a guest (scenario "basic"): list the devices, show
# a doorbell device, ring ourselves and wait for it, dump the plain memory;
# monitor our doorbells, top, numbers and JSON errors.
echo "TAP version 13"
echo "1..8"
n=0
t() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fi; }

out=$(ivshm list 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
echo "$out" | grep -q doorbell && echo "$out" | grep -q plain
t $(( rc | $? )) list_shows_both_devices

db=
for d in /sys/class/ivshm/ivshm*; do
	[ "$(cat $d/mode)" = doorbell ] && db=/dev/${d##*/}
	[ "$(cat $d/mode)" = plain ] && plain=/dev/${d##*/}
done
json=$(ivshm --json info "$db" 2>&1); rc=$?
echo "# $json"
echo "$json" | grep -q '"vectors": *4'
t $(( rc | $? )) info_json_doorbell

id=$(cat /sys/class/ivshm/${db#/dev/}/peer_id)
ivshm wait "$db" 2 --timeout 5000 >/tmp/wait.out 2>&1 &
w=$!
sleep 1
ivshm ring "$db" "$id" 2
r1=$?
wait $w
r2=$?
sed 's/^/# /' /tmp/wait.out
t $(( r1 | r2 )) ring_self_and_wait

ivshm dump "$plain" 512K 16 >/tmp/dump.out 2>&1; rc=$?
sed 's/^/# /' /tmp/dump.out
grep -q "49 56 53 48" /tmp/dump.out
t $(( rc | $? )) dump_shows_host_pattern

# monitor: our own doorbell, as one JSON line, then exit (--count 1)
ivshm --json monitor "$db" --count 1 >/tmp/mon.out 2>&1 &
m=$!
sleep 1
ivshm ring "$db" "$id" 1
r1=$?
wait $m
r2=$?
sed 's/^/# /' /tmp/mon.out
grep -q '"event":"doorbell","vector":1,"count":1}' /tmp/mon.out
t $(( r1 | r2 | $? )) monitor_doorbell

# top reads the memory of a guest device too
out=$(ivshm --json top "$plain" --interval 50 2>&1); rc=$?
echo "# $out"
echo "$out" | grep -q '"channels":\['
t $(( rc | $? )) top_json_plain

# a negative vector is a number out of range, not an option
out=$(ivshm ring "$db" "$id" -1 2>&1); rc=$?
echo "# $out"
[ $rc = 2 ] && echo "$out" | grep -q "vector -1 is out of range (0..1023)"
t $? ring_negative_vector

# errors as JSON
out=$(ivshm --json info /dev/ivshm-none 2>/dev/null); rc=$?
echo "# $out"
[ $rc = 1 ] && echo "$out" | grep -q '"errno":"ENOENT"}'
t $? json_error
