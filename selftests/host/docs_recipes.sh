#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Check that the documentation's recipes work:
#  - the ```sh blocks of docs/qemu.md marked "# tested: server|plain|doorbell"
#    are run for real (our ivshm-server as documented, then QEMU paused with
#    the documented -object/-chardev/-device options) and QMP query-pci must
#    show one 1af4:1110 device per tested QEMU block;
#  - the ```xml block of docs/libvirt.md marked "<!-- tested -->", wrapped in
#    a minimal domain, passes virt-xml-validate (libvirt-clients);
#  - every IVSHM_EXPORT function of include/ivshm.h has docs/man/NAME.3;
#  - every ```sh block of README.md is marked, just before it, either
#    "<!-- recipe: run -->" or "<!-- recipe: not run ...: WHY -->"; the
#    "run" ones are run in order, as written, by one bash -e with build/tools
#    (and, for the udev helper's /usr/lib/udev/, build/tools) first in PATH,
#    /run/ivshm/ and /dev/shm/NAME turned into private test paths, then
#    their background jobs are stopped; the shm: message must come back;
#  - every page named in a SEE ALSO section of docs/man exists: ours in
#    docs/man, the others on this system (man -w; man-db, manpages-dev).
# TAP output; exit status 1 if anything failed.  Takes a few seconds.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${B:-$top/build}
server_bin=$build/tools/ivshm-server
qemu=${QEMU:-qemu-system-x86_64}

NTESTS=10
echo "1..$NTESTS"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $1"; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
diag() { sed 's/^/# /' "$@"; }

tmp=$(mktemp -d /tmp/ivshm-docs.XXXXXX)
name=ivshm-docs-$$-$RANDOM
sock=$tmp/sock
srv_pid=
cleanup() {
	if [ -n "$srv_pid" ] && kill -0 "$srv_pid" 2>/dev/null; then
		kill "$srv_pid" 2>/dev/null
		wait "$srv_pid" 2>/dev/null
	fi
	rm -f "/dev/shm/$name"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The lines of the ```sh blocks of $1 containing "# tested: $2", with
# continuation lines joined and the placeholders replaced.
block() {
	awk -v tag="# tested: $2" '
		/^```sh/ { inb = 1; buf = ""; hit = 0; next }
		/^```/ && inb { if (hit) printf "%s", buf; inb = 0; next }
		inb {
			if (index($0, tag) == 1) { hit = 1; next }
			line = $0
			if (sub(/\\$/, "", line)) { cont = cont line; next }
			buf = buf cont line "\n"; cont = ""
		}' "$1" |
	sed -e "s|SOCK|$sock|g" -e "s|NAME|$name|g"
}

# QEMU device options (-object/-chardev/-device VALUE) of a command line.
devopts() {
	local prev= w
	for w in $1; do
		case $prev in
		-object|-chardev|-device) printf '%s\n%s\n' "$prev" "$w" ;;
		esac
		prev=$w
	done
}

# 1. every exported function has a man page
missing=
for f in $(grep -o 'IVSHM_EXPORT[^(]*(' "$top/include/ivshm.h" |
	   grep -o 'ivshm_[a-z0-9_]*(' | tr -d '('); do
	[ -f "$top/docs/man/$f.3" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then
	ok "man pages for every IVSHM_EXPORT function"
else
	not_ok "man pages for every IVSHM_EXPORT function (missing:$missing)"
fi

# 2. the tested recipes are there
qmd=$top/docs/qemu.md
srv_cmd=$(block "$qmd" server)
plain_cmd=$(block "$qmd" plain)
db_cmd=$(block "$qmd" doorbell)
opts=()
nblocks=0
for c in "$plain_cmd" "$db_cmd"; do
	[ -n "$c" ] || continue
	nblocks=$((nblocks + 1))
	mapfile -t -O "${#opts[@]}" opts < <(devopts "$c")
done
if [ "$(printf '%s\n' "$srv_cmd" | grep -c '^ivshm-server ')" = 1 ] &&
   [ $nblocks = 2 ] && [ ${#opts[@]} -ge 6 ]; then
	ok "docs/qemu.md has the tested server, plain and doorbell recipes"
else
	not_ok "docs/qemu.md has the tested server, plain and doorbell recipes"
	printf '%s\n' "server: $srv_cmd" "plain: $plain_cmd" "doorbell: $db_cmd" |
		diag
fi

# 3. the server starts as documented
if [ ! -x "$server_bin" ]; then
	not_ok "documented ivshm-server command starts ($server_bin not built)"
else
	read -r -a srv_argv <<<"${srv_cmd#ivshm-server }"
	"$server_bin" "${srv_argv[@]}" >"$tmp/server.log" 2>&1 &
	srv_pid=$!
	for _ in $(seq 50); do
		[ -S "$sock" ] && break
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -S "$sock" ] && kill -0 "$srv_pid" 2>/dev/null; then
		ok "documented ivshm-server command starts"
	else
		not_ok "documented ivshm-server command starts"
		diag "$tmp/server.log"
	fi
fi

# 4. QEMU with the documented device options shows the devices
if ! command -v "$qemu" >/dev/null; then
	not_ok "QEMU shows the documented devices ($qemu missing)"
elif [ ${#opts[@]} = 0 ] || [ ! -S "$sock" ]; then
	not_ok "QEMU shows the documented devices (no recipe or no server)"
else
	printf '%s\n' '{"execute":"qmp_capabilities"}' \
		'{"execute":"query-pci"}' '{"execute":"quit"}' |
	timeout -k 2 20 "$qemu" -M q35 -smp 1 -m 128 -display none -nodefaults \
		-S -qmp stdio "${opts[@]}" >"$tmp/qmp.out" 2>"$tmp/qemu.err"
	rc=$?
	found=$(python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if not isinstance(m.get("return"), list):
        continue
    stack = [d for bus in m["return"] for d in bus.get("devices", [])]
    while stack:
        d = stack.pop()
        if d["id"]["vendor"] == 0x1af4 and d["id"]["device"] == 0x1110:
            n += 1
        stack += (d.get("pci_bridge") or {}).get("devices", [])
print(n)' "$tmp/qmp.out" 2>/dev/null)
	if [ "$rc" = 0 ] && [ "$found" = "$nblocks" ]; then
		ok "QEMU shows the documented devices ($found x 1af4:1110)"
	else
		not_ok "QEMU shows the documented devices (exit $rc, found ${found:-?} of $nblocks)"
		echo "# qemu ${opts[*]}"
		diag "$tmp/qemu.err"
		head -c 2000 "$tmp/qmp.out" | diag
	fi
fi

# 5. the server stops cleanly and removes what it created
if [ -n "$srv_pid" ]; then
	kill "$srv_pid" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$srv_pid" 2>/dev/null; then
		not_ok "server exits on SIGTERM and removes socket and /dev/shm/$name"
		kill -KILL "$srv_pid" 2>/dev/null
	else
		wait "$srv_pid"
		rc=$?
		if [ "$rc" = 0 ] && [ ! -e "$sock" ] && [ ! -e "/dev/shm/$name" ]; then
			ok "server exits on SIGTERM and removes socket and /dev/shm/$name"
		else
			not_ok "server exits on SIGTERM and removes socket and /dev/shm/$name (exit $rc)"
			ls -l "$sock" "/dev/shm/$name" 2>&1 | diag
		fi
	fi
	srv_pid=
else
	not_ok "server exits on SIGTERM (it did not start)"
fi

# 6. nothing left running
left=$(pgrep -f -- "$tmp" || true)
if [ -z "$left" ]; then
	ok "no process left behind"
else
	not_ok "no process left behind (pids $left)"
	for p in $left; do kill "$p" 2>/dev/null; done
fi

# 7. the libvirt fragment validates
lmd=$top/docs/libvirt.md
frag=$(awk '
	/^```xml/ { inb = 1; buf = ""; hit = 0; next }
	/^```/ && inb { if (hit) printf "%s", buf; inb = 0; next }
	inb { if ($0 ~ /<!-- tested -->/) hit = 1; buf = buf $0 "\n" }' "$lmd")
if [ -z "$frag" ]; then
	not_ok "docs/libvirt.md fragment validates (no block marked <!-- tested -->)"
elif ! command -v virt-xml-validate >/dev/null; then
	skip "docs/libvirt.md fragment validates" "virt-xml-validate missing (libvirt-clients)"
else
	{
		echo "<domain type='kvm'>"
		echo "  <name>ivshm-docs</name>"
		echo "  <memory unit='MiB'>256</memory>"
		echo "  <os><type arch='x86_64' machine='q35'>hvm</type></os>"
		echo "  <devices>"
		printf '%s\n' "$frag"
		echo "  </devices>"
		echo "</domain>"
	} >"$tmp/domain.xml"
	if virt-xml-validate "$tmp/domain.xml" domain >"$tmp/validate.log" 2>&1 &&
	   [ "$(grep -c '<shmem ' "$tmp/domain.xml")" -ge 2 ]; then
		ok "docs/libvirt.md fragment validates"
	else
		not_ok "docs/libvirt.md fragment validates"
		diag "$tmp/validate.log"
	fi
fi

# 8. every README shell block says whether make check runs it
unmarked=$(awk '
	/^```sh/ { if (prev !~ /^<!-- recipe: (run|not run[^:]*: .+) -->$/) print NR }
	/./ { prev = $0 }' "$top/README.md")
if [ -z "$unmarked" ]; then
	ok "README.md: every sh block is marked run or not run (with why)"
else
	not_ok "README.md: every sh block is marked run or not run (unmarked at lines $(echo $unmarked))"
fi

# 9. the README recipes marked "run" run as written
rdir=$tmp/recipes
mkdir -p "$rdir/run/ivshm" "$rdir/bin"
rshm=ivshm-test-recipe-$$-
ln -s "$build/tools/ivshm-udev-name" "$rdir/bin/ivshm-udev-name"
awk '
	/^```sh/ { inb = (prev == "<!-- recipe: run -->"); next }
	/^```/ && inb { inb = 0; next }
	inb { print }
	/./ { prev = $0 }' "$top/README.md" |
sed -e "s|/run/ivshm/|$rdir/run/ivshm/|g" \
    -e "s|/dev/shm/\([A-Za-z0-9_.-]*\)|/dev/shm/$rshm\1|g" \
    -e "s|/usr/lib/udev/ivshm-udev-name|$rdir/bin/ivshm-udev-name|g" \
	>"$rdir/script.sh"
{
	echo 'set -e'
	echo 'wait_sock() { for _ in $(seq 50); do [ -S "$1" ] && return; sleep 0.1; done; }'
	# a server started in the background must be listening before the
	# next line, and is stopped at the end: note its pid, wait for the
	# socket it names
	sed -e "s|^\(ivshm-server .*-S \([^ ]*\).*&\)$|\1\necho \$! >>$rdir/bg.pids; wait_sock \2|" "$rdir/script.sh"
} >"$rdir/run.sh"
PATH=$build/tools:$PATH timeout 60 bash "$rdir/run.sh" >"$rdir/out" 2>&1
rc=$?
for p in $(cat "$rdir/bg.pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
if [ "$rc" = 0 ] && grep -qx hello "$rdir/out" &&
   [ "$(grep -c . "$rdir/script.sh")" -ge 4 ]; then
	ok "README.md recipes marked run succeed as written"
else
	not_ok "README.md recipes marked run succeed as written (exit $rc)"
	diag "$rdir/script.sh" "$rdir/out"
fi
rm -f /dev/shm/"$rshm"*

# 10. SEE ALSO names only pages that exist
bad=
for page in "$top"/docs/man/*.[1-8]; do
	# a page that only sources another (.so) has that one's SEE ALSO
	if grep -q '^\.so ' "$page"; then
		f=$(sed -n 's|^\.so man[0-9]/||p' "$page")
		[ -f "$top/docs/man/$f" ] || bad="$bad $(basename "$page"):.so-$f"
		continue
	fi
	refs=$(awk '/^\.SH/ { see = ($0 ~ /SEE ALSO/); next } see' "$page" |
		sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/^\.B[RI]* *//' \
		    -e 's/"//g' |
		grep -o '[A-Za-z0-9_.:-]\+ *([0-9][a-z]*)' | tr -d ' ')
	[ -n "$refs" ] || bad="$bad $(basename "$page"):no-references"
	for r in $refs; do
		name=${r%%(*}
		sec=${r#*(}
		sec=${sec%)}
		[ -f "$top/docs/man/$name.$sec" ] && continue
		man -w "$sec" "$name" >/dev/null 2>&1 && continue
		bad="$bad $(basename "$page"):$r"
	done
done
if [ -z "$bad" ]; then
	ok "every SEE ALSO reference of docs/man exists"
else
	not_ok "every SEE ALSO reference of docs/man exists (missing:$bad)"
fi

[ "$n" = "$NTESTS" ] || { echo "# ran $n of $NTESTS tests"; failed=1; }
exit $failed
