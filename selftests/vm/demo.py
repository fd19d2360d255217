#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""make demo: ivshm-server, a host program and QEMU guests (driver loaded by
udev, /dev/ivshm0 from our rules) exchanging checksummed messages over
libivshm rings, woken by doorbell interrupts.  Everything is shut down at
the end, on error and on Ctrl-C."""
import argparse
import os
import select
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import initramfs  # noqa: E402
import vm  # noqa: E402

B = os.path.join(vm.TOP, "build")
DEMO = os.path.join(B, "tools", "ivshm-demo")


def say(who, text):
    print("%-7s| %s" % (who, text), flush=True)


def main():
    vm.exit_on_sigterm()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kver", required=True)
    ap.add_argument("--guests", type=int, default=int(os.environ.get(
        "GUESTS", 2)), choices=(1, 2))
    ap.add_argument("--messages", type=int, default=int(os.environ.get(
        "MESSAGES", 20000)))
    ap.add_argument("--size", type=int, default=64)
    a = ap.parse_args()

    if "IVSHM_ACCEL" not in os.environ:
        os.environ["IVSHM_ACCEL"] = "kvm" if kvm_works(a.kver) else "tcg"

    workdir = tempfile.mkdtemp(prefix="ivshm-demo-")
    vmdir = os.path.join(B, "vm")
    os.makedirs(vmdir, exist_ok=True)
    script = os.path.join(workdir, "demo_guest")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexec /bin/ivshm-demo guest /dev/ivshm0\n")
    os.chmod(script, 0o755)
    say("demo", "building the guest initramfs for %s" % a.kver)
    initrd = initramfs.build(a.kver, vmdir,
                             extra_files=[(script, "/tests/demo_guest")])

    objs = []
    interrupted = False
    ok = False
    try:
        srv = vm.Server(workdir, size="16M", vectors=4)
        objs.append(srv)
        say("demo", "ivshm-server listening on %s (16 MiB, 4 vectors)"
            % srv.path)
        host = subprocess.Popen(
            [DEMO, "host", "unix:" + srv.path, "-g", str(a.guests),
             "-n", str(a.messages), "-s", str(a.size)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True)
        objs.append(vm.ProcessGroup(host))
        # The host peer first (peer 0), then the guests.
        first = host.stdout.readline().decode(errors="replace").rstrip()
        say("host", first)
        if "waiting for" not in first:
            raise RuntimeError("host program failed to start")
        guests = []
        for i in range(a.guests):
            name = "guest%d" % i
            g = vm.Guest(name, a.kver, initrd, workdir,
                         [vm.doorbell_dev("db0", srv, 4)], ["demo_guest"],
                         memory=256)
            objs.append(g)
            guests.append(g)
            say("demo", "booting %s: QEMU q35 (%s), Linux %s, ivshmem-doorbell"
                % (name, os.environ["IVSHM_ACCEL"], a.kver))
        ok = drive(host, guests, time.monotonic() + 900)
    except KeyboardInterrupt:
        interrupted = True
        say("demo", "interrupted: shutting down")
    finally:
        vm.cleanup(reversed(objs))
        for f in os.listdir(workdir):
            os.unlink(os.path.join(workdir, f))
        os.rmdir(workdir)
    say("demo", "all processes stopped; server socket and shared memory "
        "removed")
    if interrupted:
        return 130
    say("demo", "result: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


def kvm_works(kver):
    """True if a KVM guest really runs here: /dev/kvm can exist and still
    fail (nested virtualisation); boot the kernel with no root to its panic."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    say("demo", "/dev/kvm found: checking that KVM guests run")
    try:
        r = subprocess.run(
            ["qemu-system-x86_64", "-accel", "kvm", "-M", "q35", "-m", "256",
             "-display", "none", "-nodefaults", "-no-reboot",
             "-serial", "stdio", "-kernel", "/boot/vmlinuz-" + kver,
             "-append", "console=ttyS0 panic=-1"],
            capture_output=True, timeout=10)
        ok = b"Kernel panic" in r.stdout
    except subprocess.TimeoutExpired:
        ok = False
    if not ok:
        say("demo", "KVM does not work here: using TCG emulation")
    return ok


def drive(host, guests, deadline):
    start = time.monotonic()
    booted = set()
    last_tick = start
    live = list(guests)
    os.set_blocking(host.stdout.fileno(), False)
    hbuf = b""
    host_done = False
    guest_rc = {}
    while (live or not host_done) and time.monotonic() < deadline:
        fds = [g.proc.stdout for g in live]
        if not host_done:
            fds.append(host.stdout)
        ready = select.select(fds, [], [], 0.5)[0]
        if host.stdout in ready:
            data = os.read(host.stdout.fileno(), 65536)
            if not data:
                host_done = True
            hbuf += data
            *lines, hbuf = hbuf.split(b"\n")
            for ln in lines:
                say("host", ln.decode(errors="replace"))
        for g in list(live):
            if g.proc.stdout in ready:
                for ln in g.read_lines():
                    if ln.startswith("#GUEST udev settled"):
                        booted.add(g.name)
                        say(g.name, "booted in %.1f s; ivshm.ko loaded by "
                            "udev, /dev/ivshm0 ready"
                            % (time.monotonic() - start))
                    elif ln == "#DMESG-BEGIN":
                        g.in_dmesg = True
                    elif ln == "#DMESG-END":
                        g.in_dmesg = False
                    elif g.in_dmesg:
                        continue
                    elif ln.startswith("#END"):
                        guest_rc[g.name] = int(ln.split()[2])
                    elif ln and not ln.startswith("#") and \
                            "systemd-udevd" not in ln:
                        say(g.name, ln)
            if g.done or g.proc.poll() is not None:
                live.remove(g)
        if time.monotonic() - last_tick > 5 and len(booted) < len(guests):
            last_tick = time.monotonic()
            say("demo", "waiting for guests to boot (%.0f s)..."
                % (last_tick - start))
    host.wait(10)
    return host.returncode == 0 and len(guest_rc) == len(guests) and \
        all(rc == 0 for rc in guest_rc.values())


if __name__ == "__main__":
    sys.exit(main())
