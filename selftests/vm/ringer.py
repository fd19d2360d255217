"""A host peer that keeps ringing the other peers of a server from a
thread, so that guests take interrupts all through a test (scenario
"fuzz").  It rings vectors 1.. only: vector 0 stays free for the test's
own doorbell checks, which must be able to fail."""
import os
import struct
import threading

from hostpeer import HostPeer


class Ringer:
    def __init__(self, sock_path, vectors, period=0.01, exclude=()):
        self.peer = HostPeer(sock_path, vectors)
        self.exclude = set(exclude) | {self.peer.id}
        self.period = period
        self.rings = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        one = struct.pack("<Q", 1)
        while not self._stop.wait(self.period):
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

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self.peer.close()
