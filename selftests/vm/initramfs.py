# SPDX-License-Identifier: GPL-2.0-only
"""Build the busybox initramfs that in-guest tests boot with.

Contents: busybox-static, /init (selftests/vm/init.sh), our module under
/lib/modules/KVER/extra with a depmod index so udev autoloads it, the
in-guest test programs and every shared library they load, systemd-udevd
with the kernel's driver-loading rule and our udev/ rules, and the kernel
modules of GUEST_MODULES with their dependencies (uncompressed, for
busybox's modprobe) where the kernel has them as modules.

For an arm64 kernel (vm.Kernel.arch), the same from arm64 builds: our
programs from BUILD/arm64 (mk/arm64.mk), busybox, udev and the shared
libraries from Debian's arm64 packages extracted by
scripts/arm64-kernels.sh --userland (ldd cannot read them: their
DT_NEEDED entries are followed inside that tree instead).
"""
import os
import re
import shutil
import subprocess

import vm

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UDEVD = "/lib/systemd/systemd-udevd"
UDEVADM = "/bin/udevadm"


# What driver tests load with modprobe: vgem imports our dma-bufs
# (driver_dmabuf), virtio-blk gives O_DIRECT a disk (driver_pages).
GUEST_MODULES = ("vgem", "virtio_blk", "virtio_pci")


def _copy_modules(moddir, root, kver, names):
    """Copy the modules names and what they depend on from moddir, as
    modules.dep lists them; names the kernel has built in (or lacks) are
    skipped."""
    deps = {}
    try:
        with open(os.path.join(moddir, "modules.dep")) as f:
            for line in f:
                path, _, rest = line.partition(":")
                deps[path] = rest.split()
    except FileNotFoundError:
        return
    by_name = {re.sub(r"\.ko(\.[a-z]+)?$", "", os.path.basename(p))
               .replace("-", "_"): p for p in deps}
    todo = [by_name[n] for n in names if n in by_name]
    done = set()
    while todo:
        path = todo.pop()
        if path in done:
            continue
        done.add(path)
        todo.extend(deps[path])
        dst = os.path.join(root, "lib/modules", kver,
                           re.sub(r"\.ko\.[a-z]+$", ".ko", path))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        src = os.path.join(moddir, path)
        if path.endswith(".ko"):
            shutil.copy2(src, dst)
            continue
        tool = {".xz": "xz", ".zst": "zstd", ".gz": "gzip"}[
            os.path.splitext(path)[1]]
        with open(dst, "wb") as out:
            subprocess.run([tool, "-dc", src], stdout=out, check=True)


def _copy(src, root, dst=None):
    dst = os.path.join(root, (dst or src).lstrip("/"))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(src, dst, follow_symlinks=True)
    return dst


class Userland:
    """Where a guest's programs come from: the host's own (x86-64), or an
    extracted arm64 tree (sysroot) and BUILD/arm64."""

    def __init__(self, arch, build_dir):
        self.sysroot = "/"
        self.build = os.path.join(build_dir, "..")
        if arch == "arm64":
            self.sysroot = subprocess.run(
                [os.path.join(TOP, "scripts/arm64-kernels.sh"), "--userland"],
                check=True, capture_output=True, text=True).stdout.strip()
            self.build = os.path.join(self.build, "arm64")

    def path(self, p):
        """p, a path in the guest, in the tree that provides it."""
        return os.path.join(self.sysroot, p.lstrip("/"))

    def shared_libs(self, binary):
        """(source, guest path) of each library and loader binary loads."""
        if self.sysroot == "/":
            return [(lib, lib) for lib in _shared_libs(binary)]
        return _needed_libs(binary, self.path)


def _needed_libs(binary, path):
    """The DT_NEEDED closure of binary and its interpreter, found in the
    multiarch directories of the tree path() maps into."""
    dirs = ["/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib"]
    todo, found = [binary], {}
    while todo:
        out = subprocess.run(["readelf", "-d", "-l", todo.pop()],
                             capture_output=True, text=True).stdout
        names = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", out)
        interp = re.findall(r"Requesting program interpreter: (\S+)\]", out)
        for n in names + [os.path.basename(i) for i in interp]:
            guest = next((d + "/" + n for d in dirs
                          if os.path.exists(path(d + "/" + n))), None)
            if guest is None:
                raise RuntimeError("%s: %s not found" % (binary, n))
            if guest not in found:
                found[guest] = path(guest)
                todo.append(found[guest])
        for i in interp:    # the path the kernel execs, as the binary says
            found.setdefault(i, path(i))
    return [(src, guest) for guest, src in found.items()]


def _shared_libs(binary):
    """Paths of the shared libraries (and loader) that binary loads."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True)
    libs = []
    for line in out.stdout.splitlines():
        parts = line.split()
        if "=>" in parts:
            i = parts.index("=>")
            if i + 1 < len(parts) and parts[i + 1].startswith("/"):
                libs.append(parts[i + 1])
        elif parts and parts[0].startswith("/"):
            libs.append(parts[0])
    return libs


def build(kver, build_dir, extra_files=()):
    """Build build_dir/initramfs-KVER.cpio; return its path."""
    root = os.path.join(build_dir, "root-" + kver)
    shutil.rmtree(root, ignore_errors=True)
    for d in ("bin", "sbin", "dev", "proc", "sys", "tmp", "run", "etc",
              "lib/modules", "usr/lib/udev/rules.d", "tests"):
        os.makedirs(os.path.join(root, d), exist_ok=True)

    kernel = vm.Kernel(kver)
    user = Userland(kernel.arch, build_dir)
    _copy(user.path("/bin/busybox"), root, "/bin/busybox")
    _copy(os.path.join(TOP, "selftests/vm/init.sh"), root, "/init")
    os.chmod(os.path.join(root, "init"), 0o755)

    # Module and a depmod index so that udev's kmod builtin loads it.
    moddir = os.path.join(root, "lib/modules", kver)
    os.makedirs(os.path.join(moddir, "extra"))
    _copy(os.path.join(build_dir, "..", "kmod", kver, "ivshm.ko"), root,
          "/lib/modules/%s/extra/ivshm.ko" % kver)
    for f in ("modules.builtin", "modules.builtin.modinfo", "modules.order"):
        src = os.path.join(kernel.moddir, f)
        if os.path.exists(src):
            _copy(src, root, "/lib/modules/%s/%s" % (kver, f))
    _copy_modules(kernel.moddir, root, kver, GUEST_MODULES)
    subprocess.run(["depmod", "-b", root, kver], check=True)

    binaries = [_copy(user.path(UDEVADM), root, UDEVADM)]
    os.makedirs(os.path.join(root, "lib/systemd"), exist_ok=True)
    os.symlink(UDEVADM, os.path.join(root, UDEVD.lstrip("/")))
    _copy("/usr/lib/udev/rules.d/80-drivers.rules", root)
    for rule in sorted(os.listdir(os.path.join(TOP, "udev"))):
        if rule.endswith(".rules"):
            _copy(os.path.join(TOP, "udev", rule), root,
                  "/usr/lib/udev/rules.d/" + rule)
    with open(os.path.join(root, "etc/group"), "w") as f:
        f.write("root:x:0:\nivshm:x:990:\n")
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/:/bin/sh\n")

    tdir = os.path.join(user.build, "tests", "guest")
    for t in sorted(os.listdir(tdir)):
        binaries.append(_copy(os.path.join(tdir, t), root, "/tests/" + t))
    # The lost-wakeup stress runs on the arm64 CPU too (ring_wakeup.sh).
    if kernel.arch == "arm64":
        binaries.append(_copy(os.path.join(user.build, "tests/host/ring_wakeup"),
                              root, "/tests/ring_wakeup"))
    # Guest halves of tests written as scripts, and our tools.
    for t in sorted(os.listdir(os.path.join(TOP, "selftests/guest"))):
        if t.endswith(".sh"):
            _copy(os.path.join(TOP, "selftests/guest", t), root, "/tests/" + t)
    tooldir = os.path.join(user.build, "tools")
    for t in sorted(os.listdir(tooldir)):
        binaries.append(_copy(os.path.join(tooldir, t), root, "/bin/" + t))
    # The programs of examples/ (their guest halves run in twoguests, an
    # x86 scenario: the arm64 build has none).
    exdir = os.path.join(user.build, "examples")
    for t in sorted(os.listdir(exdir)) if os.path.isdir(exdir) else ():
        binaries.append(_copy(os.path.join(exdir, t), root, "/bin/" + t))
    # udev runs IMPORT{program} helpers by name from its own directory:
    # /lib/udev for bookworm's udev (this /lib is no /usr/lib symlink),
    # /usr/lib/udev for newer ones.
    for d in ("/lib/udev/", "/usr/lib/udev/"):
        binaries.append(_copy(os.path.join(tooldir, "ivshm-udev-name"), root,
                              d + "ivshm-udev-name"))
    for src, dst in extra_files:
        binaries.append(_copy(src, root, dst))

    seen = set()
    for b in binaries:
        for src, lib in user.shared_libs(b):
            if lib not in seen:
                seen.add(lib)
                _copy(src, root, lib)

    out = os.path.join(build_dir, "initramfs-%s.cpio" % kver)
    with open(out, "wb") as f:
        files = subprocess.run(["find", "."], cwd=root, check=True,
                               capture_output=True).stdout
        subprocess.run(["cpio", "--quiet", "-o", "-H", "newc"], cwd=root,
                       input=files, stdout=f, check=True)
    return out
