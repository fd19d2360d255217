# SPDX-License-Identifier: GPL-2.0-only
"""Boot QEMU guests with ivshmem devices and run in-guest tests.

A guest's ttyS0 is a pipe to this harness: the in-guest tests print TAP
there, between "#BEGIN prog" and "#END prog rc" markers, and may ask the
host for things with "#REQ id command args" lines, answered on the
guest's ttyS0 input as "#REP id result".  The kernel console goes to
ttyS1, a log file.  Everything started here is killed on the way out.
"""
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import time

from hostpeer import HostPeer

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(TOP, "build")
# Kernel reports that fail a guest.  Lockdep's and RCU's reports begin with
# WARNING: (named here as well); hung tasks, soft lockups (which also say
# BUG:) and kmemleak's findings (init.sh prints them) do not.
BAD_LOG = re.compile(r"BUG:|WARNING:|Oops|general protection|Kernel panic|"
                     r"Call Trace:|UBSAN:|KASAN:|"
                     r"possible circular locking dependency|"
                     r"possible recursive locking|inconsistent lock state|"
                     r"suspicious RCU usage|possible irq lock inversion|"
                     r"DEBUG_LOCKS_WARN_ON|ODEBUG:|"
                     r"INFO: task .* blocked for more than|soft lockup|"
                     r"unreferenced object 0x|suspected memory leaks")
TAP = re.compile(r"^(not ok|ok) \d+ (\S+)(.*)$")
# The kselftest harness announces each test ("#  RUN  name ...") and, when
# it skips one, reports "ok N # SKIP why" without the name.
RUN = re.compile(r"^#\s+RUN\s+(\S+) \.\.\.")


class Result:
    def __init__(self, name, status, detail=""):
        self.name, self.status, self.detail = name, status, detail


class Server:
    """Our ivshm-server on a socket in workdir, with its default memory
    (a sealed memfd, which QEMU must map like any other)."""

    def __init__(self, workdir, size="4M", vectors=4, name="ivshm"):
        self.path = os.path.join(workdir, name + ".sock")
        binary = os.environ.get("IVSHM_SERVER",
                                os.path.join(TOP, "build/tools/ivshm-server"))
        self.log = open(os.path.join(workdir, name + "-server.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "-F", "-S", self.path, "-l", size,
             "-n", str(vectors), "-v"],
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("ivshm-server did not start")
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


class LibHost:
    """The host peer through libivshm (selftests/vm/lib_host.c), driven
    one command line at a time."""

    def __init__(self, sock_path):
        binary = os.path.join(TOP, "build/tests/vmhost/lib_host")
        self.proc = subprocess.Popen([binary, "unix:" + sock_path],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     start_new_session=True)
        ready = self._line(10)
        if not ready.startswith("ready "):
            raise RuntimeError("lib_host: " + ready)
        self.id = int(ready.split()[1])

    def _line(self, timeout):
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            return "error timeout"
        return self.proc.stdout.readline().decode().strip() or "error eof"

    def cmd(self, text, timeout=30):
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()
        return self._line(timeout)

    def stop(self):
        ProcessGroup(self.proc).kill()


class PlainShm:
    """A /dev/shm file backing an ivshmem-plain device."""

    def __init__(self, tag, size):
        self.path = "/dev/shm/ivshm-test-%d-%s" % (os.getpid(), tag)
        self.size = size
        with open(self.path, "wb") as f:
            f.truncate(size)
        import mmap
        fd = os.open(self.path, os.O_RDWR)
        self.shm = mmap.mmap(fd, size, mmap.MAP_SHARED)
        os.close(fd)

    def stop(self):
        self.shm.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


class Kernel:
    """A kernel the guests boot, by release.  One of ours when BUILD/kernels/
    KVER exists (the Makefile links the debug-kernel lane's cache there:
    bzImage, config, modules.* and build/, the tree M= builds use; and the
    arm64 lane's Debian kernels, the same with an Image), else a Debian
    one: /boot/vmlinuz-KVER, /lib/modules/KVER and
    /usr/src/linux-headers-KVER.  Its .config says what the guest must
    show: lockdep active, kmemleak scanned.  arch is "arm64" for Debian's
    -arm64 kernels, else "x86_64"."""

    def __init__(self, kver):
        self.kver = kver
        self.arch = "arm64" if kver.endswith("-arm64") else "x86_64"
        own = os.path.join(BUILD, "kernels", kver)
        if os.path.isdir(own):
            self.image = os.path.join(
                own, "Image" if self.arch == "arm64" else "bzImage")
            self.moddir = own
            self.kdir = os.path.join(own, "build")
        else:
            self.image = "/boot/vmlinuz-" + kver
            self.moddir = "/lib/modules/" + kver
            self.kdir = "/usr/src/linux-headers-" + kver
        self.config = {}
        with open(os.path.join(self.kdir, ".config")) as f:
            for line in f:
                k, eq, v = line.strip().partition("=")
                if eq and k.startswith("CONFIG_"):
                    self.config[k[7:]] = v

    def has(self, option):
        return self.config.get(option) == "y"

    def guest_checks(self):
        """The "#GUEST" lines the guest must print: what init.sh finds
        in a kernel with lockdep or kmemleak (init.sh's guess could
        silently pass; the .config cannot)."""
        want = []
        if self.has("PROVE_LOCKING"):
            want += ["#GUEST lockdep-start debug_locks=1",
                     "#GUEST lockdep-end debug_locks=1"]
        if self.has("DEBUG_KMEMLEAK"):
            want += ["#GUEST kmemleak scanned"]
        return want

    def slowdown(self):
        """How many times longer guests and their tests may take (guests
        see it as ivshmtest.slow): KASAN, lockdep and kmemleak slow TCG
        guests down about 5 times (boot to udev settled: 25 s, not 5 s);
        TCG emulates arm64 on this x86-64 host about 3 times slower than
        x86-64 (100 module load/unload cycles: 25 s, not 8 s)."""
        if self.has("KASAN") or self.has("PROVE_LOCKING"):
            return 5
        return 3 if self.arch == "arm64" else 1


# The kernel console's device, a log file (the machine's own UART on
# arm64); the tests' channel is ttyS0 on both.
CONSOLE = {"x86_64": "ttyS1", "arm64": "ttyAMA0"}
# Debian's OVMF (package ovmf): x86-64 UEFI firmware in one image.
OVMF = "/usr/share/ovmf/OVMF.fd"


def _machine(arch, console, machine="q35"):
    """QEMU and its machine for arch (machine: q35 or pc on x86-64), with
    the guest's ttyS0 on this harness's pipe and the kernel console in the
    file console."""
    if arch == "x86_64":
        return ["qemu-system-x86_64", "-M", machine,
                "-serial", "stdio", "-serial", "file:" + console]
    # virt has one UART (a PL011: ttyAMA0): the tests' ttyS0 is a PCI
    # 16550.  GICv3 with its ITS (on by default) gives MSI-X; cortex-a57
    # is the quickest CPU under TCG (max adds pointer authentication,
    # which TCG emulates slowly).
    return ["qemu-system-aarch64", "-M", "virt,gic-version=3",
            "-cpu", "cortex-a57",
            "-chardev", "stdio,id=tests", "-device",
            "pci-serial,chardev=tests", "-serial", "file:" + console]


class Guest:
    def __init__(self, name, kver, initrd, workdir, devices, tests,
                 append="", memory=384, smp=1, machine="q35", firmware=None):
        self.name, self.kver, self.tests = name, kver, tests
        self.console = os.path.join(workdir, name + "-console.log")
        self.qmp_path = os.path.join(workdir, name + "-qmp.sock")
        self.qmp_sock = None
        self.buf = b""
        self.done = False
        self.dmesg = []
        self.in_dmesg = False
        self.current = None
        self.ended = {}
        self.kernel = Kernel(kver)
        self.checks = []
        cmd = _machine(self.kernel.arch, self.console, machine) + [
               "-m", str(memory),
               "-smp", str(smp), "-display", "none", "-monitor", "none",
               "-no-reboot", "-nodefaults",
               "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
               "-kernel", self.kernel.image, "-initrd", initrd,
               "-append", "console=%s loglevel=7 panic=-1 "
               "ivshmtest.run=%s ivshmtest.slow=%d %s"
               % (CONSOLE[self.kernel.arch], ",".join(tests),
                  self.kernel.slowdown(), append)]
        # TCG unless asked: a /dev/kvm that exists may still not work
        # (nested virtualisation), and the tests must not depend on it.
        cmd += ["-accel", os.environ.get("IVSHM_ACCEL", "tcg")]
        # UEFI instead of SeaBIOS: OVMF places and maps PCI BARs its own way.
        if firmware == "ovmf":
            cmd += ["-bios", OVMF]
        for d in devices:
            cmd += d
        # Everything the guest prints on ttyS0 (TAP, requests), kept.
        self.tests_log = open(os.path.join(workdir, name + "-tests.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=open(self.console + ".qemu", "w"),
                                     start_new_session=True)
        os.set_blocking(self.proc.stdout.fileno(), False)

    def read_lines(self):
        try:
            data = os.read(self.proc.stdout.fileno(), 65536)
        except BlockingIOError:
            return []
        if not data:
            self.done = True
        self.tests_log.write(data)
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        return [ln.decode(errors="replace").rstrip("\r") for ln in lines]

    def reply(self, rid, text):
        self.proc.stdin.write(("#REP %s %s\n" % (rid, text)).encode())
        self.proc.stdin.flush()

    def qmp(self, command, **args):
        if self.qmp_sock is None:
            self.qmp_sock = socket.socket(socket.AF_UNIX)
            self.qmp_sock.connect(self.qmp_path)
            self.qmp_buf = b""
            self.qmp_events = []
            self._qmp_msg(time.monotonic() + 30)
            self._qmp_send("qmp_capabilities")
        return self._qmp_send(command, **args)

    def _qmp_msg(self, deadline):
        """The next QMP message, or None at the deadline.  A guest whose
        removal hangs must not hang the harness: never block past it."""
        while b"\n" not in self.qmp_buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.qmp_sock], [], [],
                                              left)[0]:
                return None
            data = self.qmp_sock.recv(65536)
            if not data:
                raise RuntimeError("QMP connection closed")
            self.qmp_buf += data
        line, self.qmp_buf = self.qmp_buf.split(b"\n", 1)
        return json.loads(line)

    def _qmp_send(self, command, **args):
        self.qmp_sock.sendall((json.dumps({"execute": command,
                                           "arguments": args}) +
                               "\n").encode())
        while True:
            msg = self._qmp_msg(time.monotonic() + 30)
            if msg is None:
                raise RuntimeError("QMP: no answer to " + command)
            if "return" in msg or "error" in msg:
                return msg
            self.qmp_events.append(msg)

    def qmp_wait_event(self, event, timeout, device=None):
        """Wait for @event (about @device, if given); events that arrived
        meanwhile are kept, so a late one is not taken for a later one."""
        deadline = time.monotonic() + timeout
        while True:
            for m in self.qmp_events:
                if m.get("event") == event and (
                        device is None or
                        m.get("data", {}).get("device") == device):
                    self.qmp_events.remove(m)
                    return True
            msg = self._qmp_msg(deadline)
            if msg is None:
                return False
            self.qmp_events.append(msg)

    def fds(self):
        try:
            return {int(f) for f in os.listdir("/proc/%d/fd" % self.proc.pid)}
        except OSError:
            return set()

    def park_fds(self, freed):
        """QEMU 7.2 under TCG leaves the fd handlers of an unplugged
        ivshmem-doorbell's own vectors registered after closing their
        eventfds; whatever reuses such a number later (the next device's
        chardev socket) calls the dead device's handler and crashes QEMU.
        Take each freed number with a listening socket nobody connects to,
        so that it is never readable."""
        while freed - self.fds() and self.parked < 256:
            self.parked += 1
            cid = "park%d" % self.parked
            r = self.qmp("chardev-add", id=cid, backend={
                "type": "socket", "data": {
                    "addr": {"type": "unix", "data": {"path": os.path.join(
                        os.path.dirname(self.console), cid + ".sock")}},
                    "server": True, "wait": False}})
            if "error" in r:
                return

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.tests_log.close()
        if self.qmp_sock:
            self.qmp_sock.close()
        for p in (self.qmp_path,):
            if os.path.exists(p):
                os.unlink(p)


def plain_dev(dev_id, shm, bus=None):
    dev = "ivshmem-plain,memdev=hm-%s,id=%s" % (dev_id, dev_id)
    if bus:
        dev += ",bus=" + bus
    return ["-object", "memory-backend-file,id=hm-%s,size=%d,share=on,"
            "mem-path=%s" % (dev_id, shm.size, shm.path), "-device", dev]


def doorbell_dev(dev_id, server, vectors, bus=None):
    dev = "ivshmem-doorbell,chardev=ch-%s,vectors=%d,id=%s" % (
        dev_id, vectors, dev_id)
    if bus:
        dev += ",bus=" + bus
    return ["-chardev", "socket,path=%s,id=ch-%s" % (server.path, dev_id),
            "-device", dev]


class Requests:
    """The host side of "#REQ" lines: shared memory access, the host peer,
    QMP hot-plug and a key/value board for guests to meet."""

    def __init__(self, shms, peer, devices_by_id, lib=None, server=None,
                 guests=()):
        self.shms, self.peer, self.devices = shms, peer, devices_by_id
        self.lib, self.server = lib, server
        self.guests = {g.name: g for g in guests}
        self.board = {}
        self.chardevs = {}
        self.pending = []   # (guest, rid, words, deadline)

    def handle(self, guest, rid, words):
        try:
            res = self._do(guest, words)
        except Exception as e:  # reported to the guest test, which fails
            res = "error %s" % str(e).replace("\n", " ")
        if res is None:
            self.pending.append((guest, rid, words, time.monotonic() + 60))
        else:
            guest.reply(rid, res)

    def retry(self):
        still = []
        for guest, rid, words, deadline in self.pending:
            res = self._do(guest, words)
            if res is None and time.monotonic() < deadline:
                still.append((guest, rid, words, deadline))
            else:
                guest.reply(rid, res if res is not None else "error timeout")
        self.pending = still

    def _mem(self, name):
        if name == "server":
            return self.peer.shm
        return self.shms[name].shm

    def _do(self, guest, w):
        cmd = w[0]
        if cmd == "shm-write":          # shm-write MEM OFF HEX
            mem, off, data = self._mem(w[1]), int(w[2]), bytes.fromhex(w[3])
            mem[off:off + len(data)] = data
            return "ok"
        if cmd == "shm-read":           # shm-read MEM OFF LEN
            mem, off, n = self._mem(w[1]), int(w[2]), int(w[3])
            return mem[off:off + n].hex()
        if cmd == "host-id":
            return str(self.peer.id)
        if cmd == "ring":               # ring PEER VECTOR [TIMES]
            for _ in range(int(w[3]) if len(w) > 3 else 1):
                self.peer.ring(int(w[1]), int(w[2]))
            return "ok"
        if cmd == "wait":               # wait VECTOR TIMEOUT_MS -> count
            return str(self.peer.wait(int(w[1]), int(w[2]) / 1000.0))
        if cmd == "peers":
            self.peer.pump(0.2)
            return " ".join(str(p) for p in sorted(self.peer.peers)) or "-"
        if cmd == "unplug":             # unplug DEVID
            before = guest.fds()
            r = guest.qmp("device_del", id=w[1])
            if "error" in r:
                return "error " + r["error"]["desc"]
            if not guest.qmp_wait_event("DEVICE_DELETED", 30, w[1]):
                return "error no DEVICE_DELETED"
            # Its connection to the server too (as libvirt does), or the
            # server keeps the peer and sends its eventfds to every new
            # device.  A plain device has none: "ch-plain0" is not found.
            r = guest.qmp("chardev-remove",
                          id=self.chardevs.get(w[1], "ch-" + w[1]))
            if "error" in r and w[1] in self.chardevs:
                return "error chardev-remove: " + r["error"]["desc"]
            guest.park_fds(before - guest.fds())
            return "ok"
        if cmd == "plug":               # plug DEVID
            spec = self.devices[w[1]]
            if callable(spec):          # new ids for each plug
                spec = spec()
            if "object" in spec:
                r = guest.qmp("object-add", **spec["object"])
                if "error" in r:
                    return "error " + r["error"]["desc"]
            if "chardev" in spec:
                r = guest.qmp("chardev-add", **spec["chardev"])
                if "error" in r:
                    return "error " + r["error"]["desc"]
                self.chardevs[w[1]] = spec["chardev"]["id"]
            r = guest.qmp("device_add", **spec["device"])
            return "ok" if "return" in r else "error " + r["error"]["desc"]
        if cmd == "lib":                # lib COMMAND...: the library peer
            return self.lib.cmd(" ".join(w[1:]))
        if cmd == "kill-guest":         # kill-guest NAME: SIGKILL its QEMU
            victim = self.guests[w[1]]
            victim.killed = True
            os.killpg(victim.proc.pid, signal.SIGKILL)
            return "ok"
        if cmd == "kill-server":        # SIGKILL the ivshm-server
            self.server.proc.kill()
            self.server.proc.wait()
            return "ok"
        if cmd == "set":                # set KEY VALUE
            self.board[w[1]] = w[2]
            return "ok"
        if cmd == "get":                # get KEY (waits until set)
            return self.board.get(w[1])
        return "error unknown request " + cmd


def run_guests(guests, requests, prefix, timeout):
    """Drive guests until all power off; return a list of Results."""
    results = []
    timeout *= max(g.kernel.slowdown() for g in guests)
    deadline = time.monotonic() + timeout
    live = list(guests)
    while live and time.monotonic() < deadline:
        fds = [g.proc.stdout for g in live]
        ready = select.select(fds, [], [], 0.2)[0]
        for g in live:
            if g.proc.stdout not in ready:
                continue
            for line in g.read_lines():
                _line(g, line, requests, results, prefix)
        requests.retry()
        for g in list(live):
            if g.done or g.proc.poll() is not None:
                for line in g.read_lines():
                    _line(g, line, requests, results, prefix)
                live.remove(g)
    for g in live:
        results.append(Result("%s%s:boot" % (prefix, g.name), "fail",
                              "timed out after %d s (in %s)"
                              % (timeout, g.current)))
    for g in guests:
        g.kill()
        for t in g.tests:
            if t not in g.ended and not g.killed:
                results.append(Result("%s%s:%s" % (prefix, g.name, t), "fail",
                                      "did not run to completion"))
        log = "".join(open(g.console, errors="replace").readlines())
        bad = _distinct([ln for ln in (log.splitlines() + g.dmesg)
                         if BAD_LOG.search(ln)])
        clean = Result("%s%s:kernel-log-clean" % (prefix, g.name),
                       "fail" if bad else "pass", "\n".join(bad[:20]))
        # The kernel died before /init said "#GUEST up": nothing of ours
        # (module, tests) had run yet.  run.py boots such a scenario again.
        clean.before_userspace = bool(bad) and not g.killed and not any(
            c.startswith("#GUEST up") for c in g.checks)
        results.append(clean)
        if g.kernel.guest_checks() and not g.killed:
            lacking = [c for c in g.kernel.guest_checks()
                       if c not in g.checks]
            results.append(Result(
                "%s%s:debug-checks-ran" % (prefix, g.name),
                "fail" if lacking else "pass",
                "missing: %s\nseen: %s" % (lacking, g.checks)))
    return results


def _distinct(lines):
    """Each report once, whatever its timestamp, so that a repeated report
    does not hide the others."""
    seen, out = set(), []
    for ln in lines:
        key = re.sub(r"^\[\s*[\d.]+\]\s*|0x[0-9a-f]+", "", ln)
        if key not in seen:
            seen.add(key)
            out.append(ln)
    return out


def _line(g, line, requests, results, prefix):
    if os.environ.get("IVSHM_VM_VERBOSE"):
        print("[%s] %s" % (g.name, line), flush=True)
    if line == "#DMESG-BEGIN":
        g.in_dmesg = True
    elif line == "#DMESG-END":
        g.in_dmesg = False
    elif g.in_dmesg:
        g.dmesg.append(line)
    elif line.startswith("#GUEST "):
        g.checks.append(line)
        if line == "#GUEST done":
            # Only poweroff is left, and it waits for every device's lock:
            # a removal wedged in the kernel must not keep the harness
            # waiting.
            g.done = True
    elif line.startswith("#BEGIN "):
        g.current = line.split()[1]
        g.saw_tap = False
    elif line.startswith("#END "):
        _, prog, rc = line.split()
        g.ended[prog] = int(rc)
        if int(rc) != 0 and not g.failed_in_prog:
            results.append(Result("%s%s:%s" % (prefix, g.name, prog), "fail",
                                  "exited %s" % rc))
        g.current = None
        g.failed_in_prog = False
    elif line.startswith("#REQ "):
        w = line.split()
        requests.handle(g, w[1], w[2:])
    else:
        m = TAP.match(line)
        run = RUN.match(line)
        if run:
            g.last_run = run.group(1)
        if not m and g.current:
            g.comments = (g.comments + [line])[-12:]
        if m and g.current:
            name, rest = m.group(2), m.group(3)
            if name == "#":     # "ok N # SKIP why": the name is the RUN's
                name, rest = g.last_run, "# " + rest.strip()
            status = "pass" if m.group(1) == "ok" else "fail"
            if "# SKIP" in rest:
                status = "skip"
            if status == "fail":
                g.failed_in_prog = True
            detail = rest.strip()
            if status == "fail":
                detail = "\n".join(g.comments + [detail])
            g.comments = []
            results.append(Result("%s%s:%s:%s" % (prefix, g.name, g.current,
                                                  name), status,
                                  detail))


Guest.failed_in_prog = False
Guest.parked = 0       # listening sockets taking freed fd numbers
Guest.killed = False   # killed on purpose by a scenario
Guest.comments = []
Guest.last_run = "?"    # the test the harness announced last


class ProcessGroup:
    """A helper process started in its own session, killed on cleanup."""

    def __init__(self, proc):
        self.proc = proc

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def exit_on_sigterm():
    """Make SIGTERM (timeout(1), CI cancellation) unwind like Ctrl-C, so
    that every finally: block stops the QEMUs and servers it started."""
    def handler(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def cleanup(objs):
    for o in objs:
        try:
            o.stop() if hasattr(o, "stop") else o.kill()
        except Exception:
            pass


def workdir_for(build_dir, name):
    d = os.path.join(build_dir, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d
