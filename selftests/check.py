#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""make check: static checks, host tests and in-guest tests, counted.

Every result is one line "PASS|FAIL|SKIP name"; the last line is
"N passed, N failed, N skipped" and the exit status is 1 on any failure.
A skip is never counted as a pass.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
B = os.path.join(TOP, "build")
sys.path.insert(0, os.path.join(TOP, "selftests", "vm"))
TAP = re.compile(r"^\s*(not ok|ok) \d+ ?(.*?)\s*(#\s*(SKIP|skip|TODO)\b.*)?$")
# The kselftest harness announces each test ("#  RUN  fixture.name ...")
# and names no test on a skip's line ("ok 3 # SKIP why").
RUN = re.compile(r"^#\s+RUN\s+(\S+) \.\.\.")

counts = {"pass": 0, "fail": 0, "skip": 0}


def report(status, name, detail=""):
    counts[status] += 1
    print("%s %s" % (status.upper(), name), flush=True)
    if detail and status != "pass":
        for ln in detail.rstrip().splitlines()[-25:]:
            print("    " + ln)


def checkpatch():
    cp = os.path.join(B, "ksrc/scripts/checkpatch.pl")
    files = sorted(glob.glob(os.path.join(TOP, "kmod/*.[ch]"))) + \
        [os.path.join(TOP, "include/uapi/linux/ivshm.h")]
    for f in files:
        r = subprocess.run(["perl", cp, "--no-tree", "--strict", "--terse",
                            "--show-types", "-f", f],
                           capture_output=True, text=True)
        ok = r.returncode == 0 and not r.stdout.strip()
        report("pass" if ok else "fail",
               "checkpatch:" + os.path.relpath(f, TOP), r.stdout + r.stderr)


def cross_args(kernel):
    """make arguments that build a module for kernel on this machine: the
    arm64 lane's are cross builds (mk/arm64.mk)."""
    if kernel.arch != "arm64":
        return []
    cc = subprocess.run([os.path.join(TOP, "scripts/arm64-kernels.sh"),
                         "--cc-path"], capture_output=True, text=True)
    return ["ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-",
            "CC=" + cc.stdout.strip()]


def sparse(kvers):
    import vm
    for k in kvers:
        mdir = os.path.join(B, "kmod", k)
        for f in glob.glob(os.path.join(mdir, "*.o")):
            os.unlink(f)
        kernel = vm.Kernel(k)
        r = subprocess.run(["make", "-s", "-C", kernel.kdir,
                            "M=" + mdir, "IVSHM_TOP=" + TOP, "C=2", "W=1",
                            "IVSHM_WERROR=1", "modules"] + cross_args(kernel),
                           capture_output=True, text=True)
        out = [ln for ln in (r.stdout + r.stderr).splitlines()
               if "BTF" not in ln]
        report("pass" if r.returncode == 0 and not out else "fail",
               "sparse+W=1:" + k, "\n".join(out))


def run_tap_program(name, argv, timeout):
    try:
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout, cwd=TOP)
        out, rc = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(
            e.stdout, bytes) else (e.stdout or "")
        out += "\ntimed out after %d s" % timeout
        rc = -1
    seen, failed, comments, last_run = 0, False, [], "?"
    for ln in out.splitlines():
        run = RUN.match(ln)
        if run:
            last_run = run.group(1)
        m = TAP.match(ln)
        if not m:
            comments = (comments + [ln])[-15:]
            continue
        seen += 1
        status = "pass" if m.group(1) == "ok" else "fail"
        if m.group(4) and m.group(4).lower() == "skip":
            status = "skip"
        failed |= status == "fail"
        report(status, "%s:%s" % (name, m.group(2) or last_run),
               "\n".join(comments))
        comments = []
    if rc != 0 and not failed:
        report("fail", name, out[-3000:] + "\nexit status %d" % rc)
    elif seen == 0 and rc == 0:
        report("fail", name, "no TAP results\n" + out[-2000:])


def host_tests():
    # Hundreds of millions of messages through the two-process ring stress.
    os.environ.setdefault("IVSHM_STRESS_SECONDS", "40")
    for prog in sorted(glob.glob(os.path.join(B, "tests/host/*"))):
        if os.access(prog, os.X_OK) and os.path.isfile(prog):
            run_tap_program("host:" + os.path.basename(prog), [prog], 300)
    for script in sorted(glob.glob(os.path.join(TOP, "selftests/host/*.sh"))):
        run_tap_program("host:" + os.path.basename(script),
                        ["bash", script], 600)


# QEMU runs on this machine take turns on this lock; each kernel's guests
# run holding it (unless "flock QEMU_LOCK make check" holds it already),
# and its lane time leaves the wait out.
QEMU_LOCK = "/tmp/ivshm-qemu.lock"


def lock_held_by_ancestor(path):
    ino = str(os.stat(path).st_ino)
    holders = set()
    with open("/proc/locks") as f:
        for ln in f:    # "1: FLOCK  ADVISORY  WRITE 1234 fd:00:5678 0 EOF"
            w = ln.split()
            if len(w) > 5 and w[1] == "FLOCK" and w[5].split(":")[-1] == ino:
                holders.add(int(w[4]))
    pid = os.getppid()
    while pid > 1:
        if pid in holders:
            return True
        with open("/proc/%d/stat" % pid) as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    return False


def guest_tests(kvers, scenarios):
    import fcntl
    import run as vmrun
    for k in kvers:
        with open(QEMU_LOCK, "a") as lock:
            waited = time.monotonic()
            if not lock_held_by_ancestor(QEMU_LOCK):
                fcntl.flock(lock, fcntl.LOCK_EX)
            start, times = time.monotonic(), {}
            if start - waited > 1:
                lane_time("waiting-for-%s:%s" % (QEMU_LOCK, k),
                          start - waited)
            for r in vmrun.run(k, scenarios, B, times):
                report(r.status, "guest:" + r.name, r.detail)
        for name, secs in times.items():
            lane_time("guest:%s:%s" % (k, name), secs)
        lane_time("guest:" + k, time.monotonic() - start)


def lane_time(lane, secs):
    print("TIME %s %dm%02ds" % (lane, secs // 60, secs % 60), flush=True)


# The kernels make check must cover: Debian's 6.1 and 6.12, standard and
# PREEMPT_RT, and a 6.12 with lockdep, KASAN and kmemleak (the debug lane).
WANTED_KERNELS = [("6.1", "standard"), ("6.12", "standard"),
                  ("6.1", "rt"), ("6.12", "rt"), ("6.12", "debug")]


def kernel_kind(kver):
    import vm
    k = vm.Kernel(kver)
    if k.has("PROVE_LOCKING") and k.has("KASAN") and k.has("DEBUG_KMEMLEAK"):
        kind = "debug"
    elif k.has("PREEMPT_RT"):
        kind = "rt"
    else:
        kind = "standard"
    return ".".join(kver.split(".")[:2]), kind


# And the arm64 lane's: Debian's arm64 6.1 and 6.12.
WANTED_ARM64 = ["6.1", "6.12"]


def check_kernels(kvers, arm64_kvers):
    if arm64_kvers is not None:
        have = [".".join(k.split(".")[:2]) for k in arm64_kvers]
        missing = [w for w in WANTED_ARM64 if w not in have]
        report("fail" if missing else "pass", "kernels:arm64",
               "missing %s; got %s" % (missing, " ".join(arm64_kvers)))
    have = []
    for k in kvers:
        try:
            have.append(kernel_kind(k))
        except OSError as e:
            report("fail", "kernels:" + k, str(e))
    missing = [w for w in WANTED_KERNELS if w not in have]
    report("fail" if missing else "pass", "kernels",
           "missing %s; got %s" % (missing, " ".join(kvers)))


def leftovers():
    # Live processes only: an exited child that this machine's init has not
    # reaped yet (state Z) is no leftover.
    ps = subprocess.run(["ps", "-eo", "pid=,stat=,args="],
                        capture_output=True, text=True).stdout
    procs = [p for p in ps.splitlines()
             if re.search(r"qemu-system|ivshm-server", p)
             and p.split()[1][0] != "Z" and "ps -eo" not in p]
    shm = glob.glob("/dev/shm/ivshm-test-*")
    report("fail" if procs or shm else "pass", "no-leftover-processes-or-shm",
           "\n".join(procs + shm))


def main():
    import vm
    vm.exit_on_sigterm()
    ap = argparse.ArgumentParser()
    ap.add_argument("--kvers", required=True)
    # The arm64 lane's kernels; without the option (make ARM64=0) no lane.
    ap.add_argument("--arm64-kvers")
    ap.add_argument("--only", choices=["static", "host", "guest", "arm64"])
    ap.add_argument("--scenario", action="append")
    a = ap.parse_args()
    kvers = a.kvers.split()
    arm64_kvers = (a.arm64_kvers or "").split()
    if not a.only:
        check_kernels(kvers, arm64_kvers if a.arm64_kvers is not None
                      else None)
    if a.only in (None, "static"):
        start = time.monotonic()
        checkpatch()
        sparse(kvers + arm64_kvers)
        lane_time("static", time.monotonic() - start)
    if a.only in (None, "host"):
        start = time.monotonic()
        host_tests()
        lane_time("host", time.monotonic() - start)
    if a.only in (None, "guest"):
        import scenarios
        guest_tests(kvers, [n for n in a.scenario or scenarios.ALL
                            if n in scenarios.ALL])
    if a.only in (None, "arm64") and a.arm64_kvers is not None:
        import scenarios
        start = time.monotonic()
        guest_tests(arm64_kvers, [n for n in a.scenario or scenarios.ARM64
                                  if n in scenarios.ARM64])
        lane_time("arm64", time.monotonic() - start)
    leftovers()
    print("%d passed, %d failed, %d skipped"
          % (counts["pass"], counts["fail"], counts["skip"]))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
