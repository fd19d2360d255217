# SPDX-License-Identifier: GPL-2.0-only
"""Build the busybox initramfs that in-guest tests boot with.

Contents: busybox-static, /init (selftests/vm/init.sh), our module under
/lib/modules/KVER/extra with a depmod index so udev autoloads it, the
in-guest test programs and every shared library they load, systemd-udevd
with the kernel's driver-loading rule and our udev/ rules.
"""
import os
import shutil
import subprocess

import vm

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UDEVD = "/lib/systemd/systemd-udevd"
UDEVADM = "/bin/udevadm"


def _copy(src, root, dst=None):
    dst = os.path.join(root, (dst or src).lstrip("/"))
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(src, dst, follow_symlinks=True)
    return dst


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

    _copy("/bin/busybox", root)
    _copy(os.path.join(TOP, "selftests/vm/init.sh"), root, "/init")
    os.chmod(os.path.join(root, "init"), 0o755)

    # Module and a depmod index so that udev's kmod builtin loads it.
    moddir = os.path.join(root, "lib/modules", kver)
    os.makedirs(os.path.join(moddir, "extra"))
    _copy(os.path.join(build_dir, "..", "kmod", kver, "ivshm.ko"), root,
          "/lib/modules/%s/extra/ivshm.ko" % kver)
    kernel = vm.Kernel(kver)
    for f in ("modules.builtin", "modules.builtin.modinfo", "modules.order"):
        src = os.path.join(kernel.moddir, f)
        if os.path.exists(src):
            _copy(src, root, "/lib/modules/%s/%s" % (kver, f))
    subprocess.run(["depmod", "-b", root, kver], check=True)

    binaries = [UDEVADM]
    _copy(UDEVADM, root, UDEVADM)
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

    tdir = os.path.join(build_dir, "..", "tests", "guest")
    for t in sorted(os.listdir(tdir)):
        binaries.append(_copy(os.path.join(tdir, t), root, "/tests/" + t))
    # Guest halves of tests written as scripts, and our tools.
    for t in sorted(os.listdir(os.path.join(TOP, "selftests/guest"))):
        if t.endswith(".sh"):
            _copy(os.path.join(TOP, "selftests/guest", t), root, "/tests/" + t)
    tooldir = os.path.join(build_dir, "..", "tools")
    for t in sorted(os.listdir(tooldir)):
        binaries.append(_copy(os.path.join(tooldir, t), root, "/bin/" + t))
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
        for lib in _shared_libs(b):
            if lib not in seen:
                seen.add(lib)
                _copy(lib, root, lib)

    out = os.path.join(build_dir, "initramfs-%s.cpio" % kver)
    with open(out, "wb") as f:
        files = subprocess.run(["find", "."], cwd=root, check=True,
                               capture_output=True).stdout
        subprocess.run(["cpio", "--quiet", "-o", "-H", "newc"], cwd=root,
                       input=files, stdout=f, check=True)
    return out
