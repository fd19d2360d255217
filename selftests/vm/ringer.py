# SPDX-License-Identifier: GPL-2.0-only
"""Host side of the fuzz scenario: a host peer that keeps ringing the
other peers of a server from a thread, so that guests take interrupts
all through the test, and the requests that keep it away from unplugged
devices.

It rings vectors 1.. only: vector 0 stays free for the test's own
doorbell checks, which must be able to fail."""
import contextlib
import os
import struct
import threading
import time

import vm
from hostpeer import HostPeer


class Ringer:
    def __init__(self, sock_path, vectors, period=0.01, exclude=()):
        self.peer = HostPeer(sock_path, vectors)
        self.exclude = set(exclude) | {self.peer.id}
        self.period = period
        self.rings = 0
        self.lock = threading.Lock()    # held while ringing
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        one = struct.pack("<Q", 1)
        while not self._stop.wait(self.period):
            with self.lock:
                try:
                    self.peer.pump()    # peers come and go with hot-plug
                except (OSError, EOFError, TimeoutError):
                    return              # the server is gone
                for pid, fds in list(self.peer.peers.items()):
                    if pid in self.exclude:
                        continue
                    for fd in fds[1:]:
                        try:
                            os.write(fd, one)
                            self.rings += 1
                        except OSError:
                            pass

    @contextlib.contextmanager
    def paused(self):
        with self.lock:
            yield

    def wait_leave(self, timeout):
        """While paused: wait for a peer to leave; True if one did."""
        left = len(self.peer.left)
        deadline = time.monotonic() + timeout
        while len(self.peer.left) == left and time.monotonic() < deadline:
            self.peer.pump(0.05)
        return len(self.peer.left) > left

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self.peer.close()


class RingerRequests(vm.Requests):
    """Requests whose "unplug" of a doorbell device (which also removes
    its chardev, as libvirt does) keeps the ringer paused until the server
    has announced that peer gone.  QEMU 7.2 frees an unplugged
    ivshmem-doorbell's vectors but keeps watching their eventfds while
    anyone holds them: a doorbell rung at that peer then crashes QEMU
    (seen here: a segfault when the host rang a guest's unplugged
    device).  chardevs maps a device id to its chardev's id; the plug
    specs keep it current."""

    def __init__(self, shms, peer, devices_by_id, ringer, chardevs):
        super().__init__(shms, peer, devices_by_id)
        self.ringer, self.chardevs = ringer, chardevs

    def _do(self, guest, w):
        if w[0] != "unplug" or w[1] not in self.chardevs:
            return super()._do(guest, w)
        with self.ringer.paused():
            res = super()._do(guest, w)
            if res != "ok":
                # It may still go later: never ring again.
                self.ringer.exclude.update(self.ringer.peer.peers)
                return res
            # vm.Requests removed the chardev: the server sees it leave.
            if not self.ringer.wait_leave(5):
                return "error the server did not announce the peer gone"
        return res
