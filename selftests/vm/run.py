#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Run in-guest test scenarios on one or more kernels.

  run.py --kver 6.1.0-56-amd64 [--scenario basic ...]
  run.py --kver 6.1.0-57-arm64 [--scenario mixed ...]   (scenarios.ARM64)

Prints one line per result ("PASS/FAIL/SKIP name") and returns the results
to selftests/check.py when imported.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import initramfs  # noqa: E402
import scenarios  # noqa: E402
import vm  # noqa: E402


def _scenario(name, kver, initrd, workdir):
    """One scenario's results.  A guest kernel that crashed while booting,
    before user space started (so before our module or any test ran), is
    an emulation accident, not a result: seen once with 6.12-rt under TCG
    (int3 Oops while patching a static key at "sched_clock: Marking
    stable").  The scenario is then booted once more, and says so."""
    for attempt in (1, 2):
        try:
            res = dict(scenarios.ALL, **scenarios.ARM64_ONLY)[name](
                kver, initrd, workdir, "%s:%s:" % (kver, name))
        except Exception as e:
            return [vm.Result("%s:%s" % (kver, name), "fail",
                              "harness error: %r" % e)]
        early = [r for r in res if getattr(r, "before_userspace", False)]
        if not early or attempt == 2:
            return res
        print("NOTE %s:%s: a guest kernel died before user space; booting "
              "the scenario again. Its log:\n    %s" % (
                  kver, name, early[0].detail.replace("\n", "\n    ")),
              flush=True)
        workdir = vm.workdir_for(os.path.dirname(workdir),
                                 os.path.basename(workdir))
    return res


def run(kver, names, build_dir, times=None):
    """Results of the scenarios names on kernel kver; each scenario's wall
    time in seconds goes into times[name] when times is a dict."""
    vm.BUILD = build_dir
    vmdir = os.path.join(build_dir, "vm")
    os.makedirs(vmdir, exist_ok=True)
    try:
        initrd = initramfs.build(kver, vmdir)
    except Exception as e:
        return [vm.Result("%s:initramfs" % kver, "fail", str(e))]
    results = []
    for name in names:
        workdir = vm.workdir_for(vmdir, "%s-%s" % (kver, name))
        start = time.monotonic()
        results += _scenario(name, kver, initrd, workdir)
        if times is not None:
            times[name] = time.monotonic() - start
    return results


def main():
    vm.exit_on_sigterm()
    ap = argparse.ArgumentParser()
    ap.add_argument("--kver", action="append", required=True)
    ap.add_argument("--scenario", action="append")
    ap.add_argument("--build", default=os.path.join(vm.TOP, "build"))
    a = ap.parse_args()
    failed = 0
    for k in a.kver:
        times = {}
        default = scenarios.ARM64 if vm.Kernel(k).arch == "arm64" \
            else list(scenarios.ALL)
        for r in run(k, a.scenario or default, a.build, times):
            print("%s %s%s" % (r.status.upper(), r.name,
                               ("\n    " + r.detail.replace("\n", "\n    "))
                               if r.detail and r.status != "pass" else ""))
            failed += r.status == "fail"
        for name, secs in times.items():
            print("TIME %s:%s %ds" % (k, name, secs))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
