# SPDX-License-Identifier: GPL-2.0-only
"""A host peer of an ivshmem server, for the harness: it connects like
QEMU does, maps the shared memory, rings guests and counts its doorbells.

Protocol (see ../shared IVSHMEM.md): int64 little-endian messages, some
with one fd: version 0, own id, -1 + shm fd, then peers' eventfds, then
our own; later peer ids with fds (join) or without (leave).
"""
import mmap
import os
import select
import socket
import struct
import time


class HostPeer:
    def __init__(self, sock_path, vectors, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock_path)
        self.vectors = vectors
        self.peers = {}          # id -> [eventfd per vector]
        self.own = []            # our eventfds per vector
        self.left = []           # ids announced gone
        self.id = None
        self.shm = None
        deadline = time.monotonic() + timeout
        version = self._recv(deadline)[0]
        if version != 0:
            raise RuntimeError("server protocol version %d" % version)
        self.id = self._recv(deadline)[0]
        val, fd = self._recv(deadline)
        if val != -1 or fd is None:
            raise RuntimeError("expected shm fd, got %d" % val)
        size = os.fstat(fd).st_size
        self.shm = mmap.mmap(fd, size, mmap.MAP_SHARED)
        os.close(fd)
        while len(self.own) < vectors:
            self._handle(*self._recv(deadline))

    def _recv(self, deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("server message timed out")
            if select.select([self.sock], [], [], left)[0]:
                break
        msg, fds, _, _ = socket.recv_fds(self.sock, 8, 1)
        if len(msg) != 8:
            raise EOFError("server closed the connection")
        return struct.unpack("<q", msg)[0], (fds[0] if fds else None)

    def _handle(self, val, fd):
        if fd is None:
            for efd in self.peers.pop(val, []):
                os.close(efd)
            self.left.append(val)
        elif val == self.id:
            self.own.append(fd)
        else:
            self.peers.setdefault(val, []).append(fd)

    def pump(self, timeout=0.0):
        """Handle the server messages that arrive within timeout."""
        deadline = time.monotonic() + timeout
        while select.select([self.sock], [], [],
                            max(0.0, deadline - time.monotonic()))[0]:
            self._handle(*self._recv(deadline + 1))

    def ring(self, peer, vector):
        self.pump()
        os.write(self.peers[peer][vector], struct.pack("<Q", 1))

    def wait(self, vector, timeout):
        """Eventfd count of our vector (0 on timeout)."""
        fd = self.own[vector]
        if not select.select([fd], [], [], timeout)[0]:
            return 0
        return struct.unpack("<Q", os.read(fd, 8))[0]

    def close(self):
        for fds in list(self.peers.values()) + [self.own]:
            for fd in fds:
                os.close(fd)
        if self.shm:
            self.shm.close()
        self.sock.close()
