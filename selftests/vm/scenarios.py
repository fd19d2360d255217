# SPDX-License-Identifier: GPL-2.0-only
"""The guest configurations the in-guest tests run in.  Each scenario
boots one or more guests with a device set and a list of test programs
(selftests/guest/NAME.c), and returns Results."""
import itertools
import os
import subprocess

import vm
from hostpeer import HostPeer
from ringer import Ringer, RingerRequests

# 1 GiB, sparse: firmware (SeaBIOS) then places the 64-bit BAR above 4 GiB,
# where its MTRRs allow write-back; the 32-bit PCI hole is uncached by
# MTRR, and the kernel downgrades write-back requests there to UC-.
SHM_SIZE = 1 << 30
VECTORS = 4
# Before boot the host formats a plain device's memory as a libivshm ring
# region labelled PLAIN_LABEL (udev links /dev/ivshm/by-name/PLAIN_LABEL;
# the format writes only the first 4224 bytes) and writes BOOT_PATTERN at
# BOOT_OFFSET, past the region's header, channel table and label.
PLAIN_LABEL = "demo-plain"
BOOT_OFFSET = 512 << 10
BOOT_PATTERN = bytes.fromhex("49565348") + bytes(range(60))


def _plain(objs, tag, size=SHM_SIZE):
    shm = vm.PlainShm(tag, size)
    objs.append(shm)
    subprocess.run([os.path.join(vm.TOP, "build/tools/ivshm-udev-name"),
                    "--format", shm.path, PLAIN_LABEL], check=True)
    shm.shm[BOOT_OFFSET:BOOT_OFFSET + len(BOOT_PATTERN)] = BOOT_PATTERN
    return shm


def _server(objs, workdir):
    srv = vm.Server(workdir, size="4M", vectors=VECTORS)
    objs.append(srv)
    peer = HostPeer(srv.path, VECTORS)
    objs.append(peer)
    peer.stop = peer.close
    return srv, peer


def _plain_and_doorbell(kver, initrd, workdir, prefix, name, tests,
                        append="", timeout=300):
    """One guest with a plain device and a doorbell device on our server,
    with a host peer."""
    objs = []
    try:
        shm = _plain(objs, "plain")
        srv, peer = _server(objs, workdir)
        devs = [vm.plain_dev("plain0", shm),
                vm.doorbell_dev("db0", srv, VECTORS)]
        g = vm.Guest(name, kver, initrd, workdir, devs, tests, append=append)
        objs.append(g)
        req = vm.Requests({"plain": shm}, peer, {})
        return vm.run_guests([g], req, prefix, timeout)
    finally:
        vm.cleanup(reversed(objs))


def basic(kver, initrd, workdir, prefix):
    """The driver's ABI, the library's guest backend and the CLI; on arm64
    also BAR2's memory type (last: it rebinds the plain device)."""
    arm64 = vm.Kernel(kver).arch == "arm64"
    return _plain_and_doorbell(
        kver, initrd, workdir, prefix, "basic",
        ["driver_load", "driver_names", "driver_plain", "driver_doorbell",
         "driver_badinput", "driver_irqcost", "driver_huge", "lib_guest",
         "cli_guest.sh"] +
        (["driver_memattr"] if arm64 else []))


def nomsi(kver, initrd, workdir, prefix):
    """pci=nomsi: doorbell devices bind and map, interrupt calls fail."""
    return _plain_and_doorbell(kver, initrd, workdir, prefix, "nomsi",
                               ["driver_nomsi"], append="pci=nomsi",
                               timeout=180)


def _replug(shm, srv, dev_id, tag):
    """QMP specs that plug plain0 or db0 back behind its root port, with
    ids ending in tag: a device cannot reuse the backend or chardev of
    one that was unplugged."""
    if dev_id == "plain0":
        # QEMU 7.2 asserts when a memory backend is reused by a new
        # device: give it a new backend on the same file.
        return {"object": {"qom-type": "memory-backend-file",
                           "id": "hm-plain0-" + tag, "size": SHM_SIZE,
                           "share": True, "mem-path": shm.path},
                "device": {"driver": "ivshmem-plain", "id": "plain0",
                           "memdev": "hm-plain0-" + tag, "bus": "rp0"}}
    # A new connection to the server: a device gets its setup messages
    # once, on its own chardev.
    return {"chardev": {"id": "ch-db0-" + tag, "backend": {
                "type": "socket", "data": {
                    "addr": {"type": "unix", "data": {"path": srv.path}},
                    "server": False}}},
            "device": {"driver": "ivshmem-doorbell", "id": "db0",
                       "chardev": "ch-db0-" + tag, "vectors": VECTORS,
                       "bus": "rp1"}}


def _hotplug_devs(shm, srv):
    return [["-device", "pcie-root-port,id=rp0,chassis=1,slot=1"],
            ["-device", "pcie-root-port,id=rp1,chassis=2,slot=2"],
            vm.plain_dev("plain0", shm, bus="rp0"),
            vm.doorbell_dev("db0", srv, VECTORS, bus="rp1")]


def hotplug(kver, initrd, workdir, prefix):
    """A plain and a doorbell device behind PCIe root ports, unplugged and
    re-plugged through QMP while a process uses them; again with OVMF
    (kernels with an EFI stub), where the driver has moved the ports'
    windows to write-back memory before the devices go."""
    objs = []
    try:
        shm = _plain(objs, "plain")
        srv, peer = _server(objs, workdir)
        results = []
        # one guest at a time: the QMP plug state is per guest
        k = vm.Kernel(kver)
        ovmf = k.arch == "x86_64" and k.has("EFI_STUB")   # x86 firmware
        for fw in [None] + (["ovmf"] if ovmf else []):
            g = vm.Guest("hotplug" + ("-" + fw if fw else ""), kver, initrd,
                         workdir, _hotplug_devs(shm, srv), ["driver_hotplug"],
                         firmware=fw)
            objs.append(g)
            replug = {d: _replug(shm, srv, d, "again")
                      for d in ("plain0", "db0")}
            req = vm.Requests({"plain": shm}, peer, replug)
            results += vm.run_guests([g], req, prefix, 240)
        return results
    finally:
        vm.cleanup(reversed(objs))


def _replugs(shm, srv):
    """Plug specs for plain0 and db0 with new ids at every plug."""
    plugs = itertools.count()
    return {d: (lambda d=d: _replug(shm, srv, d, str(next(plugs))))
            for d in ("plain0", "db0")}


# A doorbell device with more MSI-X vectors than a doorbell can address
# (8 bits): the driver uses 256.  Its memory size tells it apart.
WIDE_VECTORS = 300
WIDE_SIZE = "2M"


def removal(kver, initrd, workdir, prefix):
    """Removal by sysfs unbind racing with stalled ioctls, faults, mmap,
    blocked read and poll; access modes, O_NONBLOCK, poll, argsz, the
    vector cap and 32-bit compat ioctls.  The ioctls that deadlocked the
    old driver run last: a wedged guest fails its tests, then is killed
    (the tests give up after a bound, they do not wait)."""
    objs = []
    try:
        shm = _plain(objs, "plain")
        srv, peer = _server(objs, workdir)
        wide = vm.Server(workdir, size=WIDE_SIZE, vectors=WIDE_VECTORS,
                         name="wide")
        objs.append(wide)
        devs = _hotplug_devs(shm, srv)
        devs.append(vm.doorbell_dev("wide0", wide, WIDE_VECTORS))
        # Two CPUs: one x86 CPU has about 200 interrupt vectors free,
        # too few for 256 MSI-X vectors.
        g = vm.Guest("removal", kver, initrd, workdir, devs,
                     ["driver_semantics", "driver_compat32",
                      "driver_removal"], smp=2)
        objs.append(g)
        req = vm.Requests({"plain": shm}, peer, _replugs(shm, srv))
        return vm.run_guests([g], req, prefix, 300)
    finally:
        vm.cleanup(reversed(objs))


def unplug(kver, initrd, workdir, prefix):
    """The removal races of driver_removal, removing by QMP device_del
    (PCIe native hot-unplug) instead of sysfs unbind."""
    objs = []
    try:
        shm = _plain(objs, "plain")
        srv, peer = _server(objs, workdir)
        g = vm.Guest("unplug", kver, initrd, workdir,
                     _hotplug_devs(shm, srv), ["driver_removal"],
                     append="ivshmtest.remove=unplug")
        objs.append(g)
        req = vm.Requests({"plain": shm}, peer, _replugs(shm, srv))
        return vm.run_guests([g], req, prefix, 420)
    finally:
        vm.cleanup(reversed(objs))


def fuzz(kver, initrd, workdir, prefix):
    """selftests/guest/driver_fuzz on a plain and a doorbell device behind
    PCIe root ports, while the guest unbinds and rebinds them, the host
    unplugs and re-plugs them and a host peer rings the guest.  It fuzzes
    60 s on a debug kernel, 20 s elsewhere (IVSHM_FUZZ_SECS overrides;
    IVSHM_FUZZ_SEED replays a seed)."""
    secs = int(os.environ.get("IVSHM_FUZZ_SECS",
                              60 if "debug" in kver else 20))
    append = "ivshmtest.fuzz_secs=%d" % secs
    if os.environ.get("IVSHM_FUZZ_SEED"):
        append += " ivshmtest.fuzz_seed=" + os.environ["IVSHM_FUZZ_SEED"]
    objs = []
    try:
        shm = _plain(objs, "plain")
        srv, peer = _server(objs, workdir)
        ringer = Ringer(srv.path, VECTORS, exclude=[peer.id])
        objs.append(ringer)
        g = vm.Guest("fuzz", kver, initrd, workdir, _hotplug_devs(shm, srv),
                     ["driver_fuzz"], append=append, smp=2)
        objs.append(g)
        plugs = itertools.count()
        chardevs = {"db0": "ch-db0"}

        def replug(dev_id):
            spec = _replug(shm, srv, dev_id, str(next(plugs)))
            if "chardev" in spec:
                chardevs[dev_id] = spec["chardev"]["id"]
            return spec
        req = RingerRequests({"plain": shm}, peer,
                             {d: (lambda d=d: replug(d))
                              for d in ("plain0", "db0")},
                             ringer, chardevs)
        return vm.run_guests([g], req, prefix, secs + 240)
    finally:
        vm.cleanup(reversed(objs))


class ExampleRequests(vm.Requests):
    """Requests plus "example-host": start the host half of
    examples/reqresp.c (a responder for one session) on the server and
    answer its peer id; the guest half asks it questions."""

    def __init__(self, srv, workdir, objs, *args):
        super().__init__(*args)
        self.srv, self.workdir, self.objs = srv, workdir, objs
        self.example = None

    def _do(self, guest, w):
        if w[0] != "example-host":
            return super()._do(guest, w)
        self.log = open(os.path.join(self.workdir, "reqresp.log"), "w+")
        self.example = subprocess.Popen(
            [os.path.join(vm.TOP, "build/examples/reqresp"), "serve",
             "unix:" + self.srv.path, "1"], stdout=subprocess.PIPE,
            stderr=self.log, text=True, start_new_session=True)
        self.objs.append(vm.ProcessGroup(self.example))
        line = self.example.stdout.readline()    # "... serving as peer N"
        if "as peer " not in line:
            return "error reqresp: " + line.strip()
        return line.split("as peer ")[1].strip()

    def result(self, prefix):
        """The responder's verdict once the guests are done."""
        if self.example is None:
            return vm.Result(prefix + "host:reqresp_serve_session", "fail",
                             "guest A never asked for the responder")
        try:
            out = self.example.communicate(timeout=20)[0]
            rc = self.example.returncode
        except subprocess.TimeoutExpired:
            out, rc = "", "timeout"
        self.log.seek(0)
        out += self.log.read()
        ok = rc == 0 and "after 50 requests" in out
        return vm.Result(prefix + "host:reqresp_serve_session",
                         "pass" if ok else "fail",
                         out + "\nexit status %s" % rc)


def twoguests(kver, initrd, workdir, prefix):
    """Two guests and a host peer on one server: doorbells between them,
    then the guest halves of examples/ (examples_guest.sh): guest A asks
    the host's reqresp responder, then streams to guest B."""
    objs = []
    try:
        srv, peer = _server(objs, workdir)
        guests = []
        for name in ("guestA", "guestB"):
            g = vm.Guest(name, kver, initrd, workdir,
                         [vm.doorbell_dev("db0", srv, VECTORS)],
                         ["driver_twoguests", "ring_g2g",
                          "examples_guest.sh"],
                         append="ivshmtest.role=" + name[-1])
            objs.append(g)
            guests.append(g)
        req = ExampleRequests(srv, workdir, objs, {}, peer, {})
        results = vm.run_guests(guests, req, prefix, 420)
        results.append(req.result(prefix))
        return results
    finally:
        vm.cleanup(reversed(objs))


def rings(kver, initrd, workdir, prefix):
    """The host program and a guest exchange checksummed messages over
    libivshm rings through the driver, woken by doorbells; then the ring
    benchmark runs inside the guest (a functional check only)."""
    objs = []
    try:
        srv = vm.Server(workdir, size="16M", vectors=VECTORS)
        objs.append(srv)
        demo = os.path.join(vm.TOP, "build/tools/ivshm-demo")
        log = open(os.path.join(workdir, "host.log"), "w+")
        host = subprocess.Popen([demo, "host", "unix:" + srv.path, "-g", "1",
                                 "-n", "20000", "-s", "200"],
                                stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        objs.append(vm.ProcessGroup(host))
        # On arm64, also the lost-wakeup stress on a weakly ordered CPU.
        arm64 = vm.Kernel(kver).arch == "arm64"
        g = vm.Guest("rings", kver, initrd, workdir,
                     [vm.doorbell_dev("db0", srv, VECTORS)],
                     ["ring_echo.sh"] + (["ring_wakeup.sh"] if arm64 else []),
                     smp=2)
        objs.append(g)
        results = vm.run_guests([g], vm.Requests({}, None, {}), prefix, 300)
        try:
            rc = host.wait(30)
        except subprocess.TimeoutExpired:
            rc = -1
        log.seek(0)
        out = log.read()
        results.append(vm.Result(prefix + "host:ring_echo_20000_checked",
                                 "pass" if rc == 0 else "fail",
                                 out + "\nexit status %s" % rc))
        return results
    finally:
        vm.cleanup(reversed(objs))


def peers(kver, initrd, workdir, prefix):
    """Two guests and a host peer, all through libivshm: doorbells every
    way, then guest B's QEMU is killed (the host learns it leaves), then
    the server is killed (the host and guest A keep ringing each other)."""
    objs = []
    try:
        srv = vm.Server(workdir, size="4M", vectors=VECTORS)
        objs.append(srv)
        lib = vm.LibHost(srv.path)
        objs.append(lib)
        guests = []
        for name in ("guestA", "guestB"):
            g = vm.Guest(name, kver, initrd, workdir,
                         [vm.doorbell_dev("db0", srv, VECTORS)],
                         ["lib_peers"], append="ivshmtest.role=" + name[-1])
            objs.append(g)
            guests.append(g)
        req = vm.Requests({}, None, {}, lib=lib, server=srv, guests=guests)
        return vm.run_guests(guests, req, prefix, 300)
    finally:
        vm.cleanup(reversed(objs))


def bigbar(kver, initrd, workdir, prefix):
    """An 8 GiB ivshmem-plain device (sparse file): a 64-bit BAR above
    4 GiB, mapped whole."""
    objs = []
    try:
        shm = _plain(objs, "big", 8 << 30)
        g = vm.Guest("bigbar", kver, initrd, workdir,
                     [vm.plain_dev("plain0", shm)], ["driver_bigbar"])
        objs.append(g)
        return vm.run_guests([g], vm.Requests({"plain": shm}, None, {}),
                             prefix, 180)
    finally:
        vm.cleanup(reversed(objs))


def mixed(kver, initrd, workdir, prefix):
    """Two guests on one server, one of each architecture: an arm64 guest
    (kernel kver) and an x86-64 guest on the x86-64 kernel of the same
    release.  ring_g2g's role A (the arm64 guest) formats the region and
    sends checksummed messages, B (x86-64) attaches to what arm64 wrote
    and echoes them: one wire format for both."""
    import initramfs
    x86 = kver[:-len("-arm64")] + "-amd64"
    x86_initrd = initramfs.build(x86, os.path.dirname(workdir))
    objs = []
    try:
        srv, peer = _server(objs, workdir)
        guests = []
        for name, k, rd in (("arm64A", kver, initrd),
                            ("x86B", x86, x86_initrd)):
            g = vm.Guest(name, k, rd, workdir,
                         [vm.doorbell_dev("db0", srv, VECTORS)],
                         ["ring_g2g"], append="ivshmtest.role=" + name[-1])
            objs.append(g)
            guests.append(g)
        return vm.run_guests(guests, vm.Requests({}, peer, {}), prefix, 420)
    finally:
        vm.cleanup(reversed(objs))


# Sizes SeaBIOS places in the 32-bit PCI hole, uncached by its MTRRs.
MEMTYPE_SIZES = (2, 4, 64)


def memtype(kver, initrd, workdir, prefix):
    """Plain and doorbell devices of 2, 4 and 64 MiB, and on q35 a plain
    one of 8 MiB behind a PCIe root port: user mappings are write-back on
    -M q35 with SeaBIOS and (kernels with an EFI stub) with OVMF, where
    the driver warns when no write-back place exists (or
    ivshm.relocate_bar2=0 keeps the firmware's place), and on
    -M pc (guests at once, on the same memory); on pc,
    with BAR2's struct pages (ivshm.struct_pages=1), these can be pinned
    for I/O (driver_pages), O_DIRECT on a virtio-blk disk included."""
    objs = []
    try:
        mems, common = {}, []
        for mib in MEMTYPE_SIZES:
            shm = vm.PlainShm("plain%dm" % mib, mib << 20)
            objs.append(shm)
            mems["plain%dm" % mib] = shm
            srv = vm.Server(workdir, size="%dM" % mib, vectors=1,
                            name="db%dm" % mib)
            objs.append(srv)
            peer = HostPeer(srv.path, 1)
            peer.stop = peer.close
            objs.append(peer)
            mems["db%dm" % mib] = peer
            common.append(vm.plain_dev("plain%dm" % mib, shm))
            common.append(vm.doorbell_dev("db%dm" % mib, srv, 1))
        rp = vm.PlainShm("rp8m", 8 << 20)
        objs.append(rp)
        mems["rp8m"] = rp
        # A virtio-blk disk for O_DIRECT, the pattern driver_pages expects.
        disk = vm.PlainShm("disk", 2 << 20)
        objs.append(disk)
        mems["disk"] = disk
        disk.shm[:] = bytes((i * 13 + 5) & 0xff for i in range(disk.size))
        pc_only = [["-drive", "file=%s,format=raw,if=none,id=disk0"
                    % disk.path, "-device", "virtio-blk-pci,drive=disk0"]]
        q35_only = [["-device", "pcie-root-port,id=rp0,chassis=1,slot=1"],
                    vm.plain_dev("rp8m", rp, bus="rp0")]
        guests = []
        # q35 maps raw PFNs (the default), pc struct pages; q35 again
        # with UEFI (OVMF) instead of SeaBIOS, for kernels OVMF can start
        # (an EFI stub: Debian's; not the debug lane's tinyconfig).  OVMF
        # leaves write-back only the 32-bit window's part below 2 GiB: a
        # guest with 3 GiB of RAM has none (ivshmtest.wb=none), unless
        # QEMU keeps its RAM below 4 GiB under 2 GiB (the recipe in
        # docs/qemu.md).
        configs = [("q35", "q35", None, 384, q35_only,
                    ["driver_memtype"], ""),
                   ("pc", "pc", None, 384, pc_only,
                    ["driver_memtype", "driver_pages"],
                    " ivshm.struct_pages=1"),
                   ("q35-stay", "q35", None, 384, q35_only,
                    ["driver_memtype"],
                    " ivshm.relocate_bar2=0 ivshmtest.wb=off")]
        if vm.Kernel(kver).has("EFI_STUB"):
            configs += [("q35-ovmf", "q35", "ovmf", 384, q35_only,
                         ["driver_memtype"], ""),
                        ("q35-ovmf-3g", "q35", "ovmf", 3072, q35_only,
                         ["driver_memtype"], " ivshmtest.wb=none"),
                        ("q35-ovmf-3g-low1g", "q35,max-ram-below-4g=1G",
                         "ovmf", 3072, q35_only, ["driver_memtype"], "")]
        for name, machine, fw, mib, extra, tests, append in configs:
            g = vm.Guest("memtype-" + name, kver, initrd, workdir,
                         common + extra, tests,
                         append="ivshmtest.machine=%s ivshmtest.firmware=%s%s"
                         % (machine.split(",")[0], fw or "seabios", append),
                         machine=machine, firmware=fw, memory=mib)
            objs.append(g)
            guests.append(g)
        return vm.run_guests(guests, vm.Requests(mems, None, {}), prefix,
                             180)
    finally:
        vm.cleanup(reversed(objs))


def dmabuf(kver, initrd, workdir, prefix):
    """dma-buf export (driver_dmabuf), with struct pages: a 16 MiB plain
    device behind a PCIe root port, unplugged and re-plugged, and a 1 MiB
    one, too small for struct pages."""
    objs = []
    try:
        big = vm.PlainShm("dmabuf16m", 16 << 20)
        small = vm.PlainShm("dmabuf1m", 1 << 20)
        objs += [big, small]
        plugs = itertools.count()

        def replug():
            tag = str(next(plugs))
            return {"object": {"qom-type": "memory-backend-file",
                               "id": "hm-plain0-" + tag, "size": big.size,
                               "share": True, "mem-path": big.path},
                    "device": {"driver": "ivshmem-plain", "id": "plain0",
                               "memdev": "hm-plain0-" + tag, "bus": "rp0"}}

        devs = [["-device", "pcie-root-port,id=rp0,chassis=1,slot=1"],
                vm.plain_dev("plain0", big, bus="rp0"),
                vm.plain_dev("small", small)]
        g = vm.Guest("dmabuf", kver, initrd, workdir, devs,
                     ["driver_dmabuf"], append="ivshm.struct_pages=1")
        objs.append(g)
        req = vm.Requests({"big": big}, None, {"plain0": replug})
        return vm.run_guests([g], req, prefix, 180)
    finally:
        vm.cleanup(reversed(objs))


ALL = {"basic": basic, "nomsi": nomsi, "hotplug": hotplug,
       "removal": removal, "unplug": unplug,
       "twoguests": twoguests, "rings": rings,
       "peers": peers, "bigbar": bigbar, "fuzz": fuzz,
       "memtype": memtype, "dmabuf": dmabuf}
# The arm64 lane's scenarios (TCG emulates arm64 on x86 several times
# slower: the few that cover the issue), and those it alone runs.
ARM64 = ["basic", "hotplug", "rings", "mixed"]
ARM64_ONLY = {"mixed": mixed}
