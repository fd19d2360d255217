# SPDX-License-Identifier: LGPL-2.1-or-later
"""ivshm: Python 3 binding of libivshm (QEMU ivshmem shared memory,
doorbells and message rings), through ctypes: nothing to compile.

    import ivshm
    with ivshm.Device("unix:/run/ivshm/demo.sock") as dev:
        print(dev.info())
        reg = dev.region(format=True)
        reg.register("host")
        ch = reg.create("to-guest", 1 << 16, ivshm.PRODUCER,
                        peer=reg.lookup("guest"), vector=1)
        ch.send(b"hello", timeout_ms=1000)

Targets are the library's: /dev/ivshmN (guest), unix:SOCKET (host, a peer
of ivshm-server), shm:FILE (host, memory only).  Errors are raised as
OSError with the library's errno, so the usual subclasses apply:
TimeoutError (ETIMEDOUT), BrokenPipeError (EPIPE: the peer went away),
ConnectionResetError (ECONNRESET), BlockingIOError (EAGAIN),
FileNotFoundError (ENOENT)...  Timeouts are in milliseconds: -1 waits
forever, 0 never blocks.

The library is loaded from libivshm.so.1 (package libivshm1), or from the
file named by the environment variable IVSHM_LIBRARY.
"""
import ctypes
import errno
import os

__all__ = ["Device", "Region", "Channel", "PRODUCER", "CONSUMER", "RESET",
           "TAKEOVER", "version"]

PRODUCER = 0x1
CONSUMER = 0x2
RESET = 0x100
TAKEOVER = 0x200

_BACKENDS = {1: "guest", 2: "unix", 3: "shm"}
_STATES = {1: "init", 2: "ready", 3: "bad"}

_u32, _u64, _int, _uint = (ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int,
                           ctypes.c_uint)
_p, _sz = ctypes.c_void_p, ctypes.c_size_t


class _DevInfo(ctypes.Structure):
    _fields_ = [("size", _u32), ("flags", _u32), ("backend", _u32),
                ("seals", _u32), ("mem_size", _u64)]


class _SigCtx(ctypes.Structure):
    _fields_ = [("size", _u32), ("dev", _p), ("peer", _uint),
                ("tx_vector", _uint), ("rx_vector", _uint)]


class _Signal(ctypes.Structure):
    _fields_ = [("size", _u32), ("notify", _p), ("wait", _p),
                ("peer_alive", _p), ("fd", _int), ("ctx", _p)]


class _ChanInfo(ctypes.Structure):
    _fields_ = [("size", _u32), ("slot", _u32), ("state", _u32),
                ("flags", _u32), ("generation", _u32), ("reserved", _u32),
                ("name", ctypes.c_char * 32), ("offset", _u64),
                ("ring_size", _u64), ("max_msg", _u64), ("queued", _u64)]


class _PeerInfo(ctypes.Structure):
    _fields_ = [("size", _u32), ("slot", _u32), ("peer_id", _u32),
                ("flags", _u32), ("boot", _u64), ("heartbeat", _u64),
                ("name", ctypes.c_char * 32)]


# name: (restype, argtypes); the peer directory needs libivshm 0.2
_PROTOS = {
    "ivshm_version": (ctypes.c_char_p, []),
    "ivshm_open": (_p, [ctypes.c_char_p, _uint]),
    "ivshm_close": (None, [_p]),
    "ivshm_size": (_sz, [_p]),
    "ivshm_base": (_p, [_p]),
    "ivshm_dev_info": (_int, [_p, ctypes.POINTER(_DevInfo)]),
    "ivshm_peer_id": (_int, [_p]),
    "ivshm_vectors": (_int, [_p]),
    "ivshm_peers": (_int, [_p, ctypes.POINTER(ctypes.c_uint16), _uint]),
    "ivshm_ring": (_int, [_p, _uint, _uint]),
    "ivshm_wait": (_int, [_p, _uint, _int]),
    "ivshm_vector_fd": (_int, [_p, _uint]),
    "ivshm_event_fd": (_int, [_p]),
    "ivshm_process_events": (_int, [_p, _int]),
    "ivshm_dev_signal": (_int, [_p, _uint, _uint, _uint,
                                ctypes.POINTER(_SigCtx),
                                ctypes.POINTER(_Signal)]),
    "ivshm_region_format": (_p, [_p, _sz]),
    "ivshm_region_open": (_p, [_p, _sz]),
    "ivshm_region_close": (None, [_p]),
    "ivshm_region_label": (ctypes.c_ssize_t, [_p, ctypes.c_char_p, _sz]),
    "ivshm_region_set_label": (_int, [_p, ctypes.c_char_p]),
    "ivshm_region_channels": (_int, [_p, ctypes.POINTER(_ChanInfo), _uint]),
    "ivshm_chan_create": (_p, [_p, ctypes.c_char_p, _sz, _uint,
                               ctypes.POINTER(_Signal)]),
    "ivshm_chan_attach": (_p, [_p, ctypes.c_char_p, _uint,
                               ctypes.POINTER(_Signal)]),
    "ivshm_chan_close": (None, [_p]),
    "ivshm_chan_send": (_int, [_p, ctypes.c_char_p, _sz, _int]),
    "ivshm_chan_recv": (ctypes.c_ssize_t, [_p, _p, _sz, _int]),
    "ivshm_chan_fd": (_int, [_p]),
    "ivshm_chan_max_msg": (_sz, [_p]),
    "ivshm_peer_register": (_int, [_p, ctypes.c_char_p, _uint, _u64, _uint]),
    "ivshm_peer_unregister": (_int, [_p]),
    "ivshm_peer_heartbeat": (_int, [_p]),
    "ivshm_peer_lookup": (_int, [_p, ctypes.c_char_p]),
    "ivshm_peer_list": (_int, [_p, ctypes.POINTER(_PeerInfo), _uint]),
}

_lib = None


def _library():
    global _lib
    if _lib is None:
        lib = ctypes.CDLL(os.environ.get("IVSHM_LIBRARY") or "libivshm.so.1",
                          use_errno=True)
        for name, (res, args) in _PROTOS.items():
            f = getattr(lib, name, None)
            if f is not None:   # missing in an older library: its method
                f.restype, f.argtypes = res, args   # raises AttributeError
        _lib = lib
    return _lib


def _check(ret, what):
    """ret of an int call: the value, or OSError for a negative errno."""
    if ret < 0:
        raise OSError(-ret, os.strerror(-ret), what)
    return ret


def _handle(h, what):
    """A constructor's handle, or OSError from errno for NULL."""
    if not h:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), what)
    return h


def version():
    """The running library's version, e.g. "0.1.0"."""
    return _library().ivshm_version().decode()


class _Closing:
    """A handle closed by close(), by a with block, or when collected."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class Device(_Closing):
    """An open target: its shared memory, mapped, and its doorbells."""

    def __init__(self, target, vectors=0):
        """vectors: the server's vector count, if known (unix: targets
        then skip the handshake's quiet period)."""
        self._h = None
        self._lib = _library()
        flags = (vectors & 0x7ff) << 16
        self._h = _handle(self._lib.ivshm_open(target.encode(), flags),
                          target)
        self.target = target

    def close(self):
        """Unmap and close; regions and channels must be closed first."""
        if self._h:
            self._lib.ivshm_close(self._h)
            self._h = None

    @property
    def size(self):
        return self._lib.ivshm_size(self._h)

    @property
    def peer_id(self):
        """Our peer id, or None without doorbells."""
        r = self._lib.ivshm_peer_id(self._h)
        return None if r == -errno.EOPNOTSUPP else _check(r, "peer_id")

    @property
    def vectors(self):
        return _check(self._lib.ivshm_vectors(self._h), "vectors")

    def info(self):
        """A dict: backend ("guest", "unix", "shm"), size, doorbells,
        sealed, peer_id, vectors."""
        i = _DevInfo(size=ctypes.sizeof(_DevInfo))
        _check(self._lib.ivshm_dev_info(self._h, ctypes.byref(i)), "info")
        return {"backend": _BACKENDS.get(i.backend, str(i.backend)),
                "size": i.mem_size, "doorbells": bool(i.flags & 1),
                "sealed": bool(i.flags & 2), "peer_id": self.peer_id,
                "vectors": self.vectors}

    def read(self, offset, length):
        """length bytes of shared memory at offset (a copy)."""
        self._bounds(offset, length)
        return ctypes.string_at(self._lib.ivshm_base(self._h) + offset,
                                length)

    def write(self, offset, data):
        """Copy data into shared memory at offset."""
        data = bytes(data)
        self._bounds(offset, len(data))
        ctypes.memmove(self._lib.ivshm_base(self._h) + offset, data,
                       len(data))

    def _bounds(self, offset, length):
        if offset < 0 or length < 0 or offset + length > self.size:
            raise ValueError("outside the %d bytes of shared memory"
                             % self.size)

    def peers(self):
        """Ids of the other connected peers (unix: only), lowest first."""
        n = _check(self._lib.ivshm_peers(self._h, None, 0), "peers")
        ids = (ctypes.c_uint16 * max(n, 1))()
        n = _check(self._lib.ivshm_peers(self._h, ids, n), "peers")
        return sorted(ids[:n])

    def ring(self, peer, vector):
        """Ring vector of peer (fire and forget)."""
        _check(self._lib.ivshm_ring(self._h, peer, vector), "ring")

    def wait(self, vector, timeout_ms=-1):
        """Wait for vector to fire; the number of doorbells coalesced.
        TimeoutError if it did not fire in time."""
        return _check(self._lib.ivshm_wait(self._h, vector, timeout_ms),
                      "wait")

    def vector_fd(self, vector):
        """An fd readable when vector fires (owned by the device)."""
        return _check(self._lib.ivshm_vector_fd(self._h, vector),
                      "vector_fd")

    def process_events(self, timeout_ms=0):
        """Handle pending peer events (unix:); the number handled."""
        return _check(self._lib.ivshm_process_events(self._h, timeout_ms),
                      "process_events")

    def region(self, format=False):
        """The ring region in the shared memory: opened, or formatted
        (emptied) first when format is true."""
        return Region(self, format)


class Region(_Closing):
    """The message-ring region of a device's shared memory."""

    def __init__(self, dev, format=False):
        self._h = None
        self.dev, lib = dev, dev._lib
        fn = lib.ivshm_region_format if format else lib.ivshm_region_open
        self._h = _handle(fn(lib.ivshm_base(dev._h), dev.size), "region")

    def close(self):
        if self._h:
            self.dev._lib.ivshm_region_close(self._h)
            self._h = None

    @property
    def label(self):
        """The region's label, or None."""
        buf = ctypes.create_string_buffer(32)
        r = self.dev._lib.ivshm_region_label(self._h, buf, len(buf))
        if r == -errno.ENODATA:
            return None
        _check(r, "label")
        return buf.value.decode()

    @label.setter
    def label(self, text):
        _check(self.dev._lib.ivshm_region_set_label(self._h, text.encode()),
               "set label")

    def register(self, name, peer_id=None, boot=0, replace=False):
        """Publish name for peer_id (default: our own) in the region's
        peer directory; the entry lasts until unregister() or close().
        replace takes over the entry of a previous owner of name."""
        if peer_id is None:
            peer_id = self.dev.peer_id or 0
        return _check(self.dev._lib.ivshm_peer_register(
            self._h, name.encode(), peer_id, boot, 1 if replace else 0),
            "register " + name)

    def unregister(self):
        _check(self.dev._lib.ivshm_peer_unregister(self._h), "unregister")

    def heartbeat(self):
        """Show we are alive: bump our entry's heartbeat counter."""
        _check(self.dev._lib.ivshm_peer_heartbeat(self._h), "heartbeat")

    def lookup(self, name):
        """The peer id registered as name (FileNotFoundError if none)."""
        return _check(self.dev._lib.ivshm_peer_lookup(self._h,
                                                      name.encode()),
                      "lookup " + name)

    def peers(self):
        """The peer directory: a list of dicts (name, peer_id, boot,
        heartbeat, self), lowest slot first."""
        lib = self.dev._lib
        n = _check(lib.ivshm_peer_list(self._h, None, 0), "peer list")
        arr = (_PeerInfo * max(n, 1))()
        arr[0].size = ctypes.sizeof(_PeerInfo)
        n = min(n, _check(lib.ivshm_peer_list(self._h, arr, len(arr)),
                          "peer list"))
        return [{"name": p.name.decode(errors="replace"),
                 "peer_id": p.peer_id, "boot": p.boot,
                 "heartbeat": p.heartbeat, "self": bool(p.flags & 1)}
                for p in arr[:n]]

    def channels(self):
        """A list of dicts, one per channel: name, state, ring_size,
        max_msg, queued, producer, consumer, generation."""
        lib = self.dev._lib
        n = _check(lib.ivshm_region_channels(self._h, None, 0), "channels")
        arr = (_ChanInfo * max(n, 1))()
        arr[0].size = ctypes.sizeof(_ChanInfo)
        n = min(n, _check(lib.ivshm_region_channels(self._h, arr, len(arr)),
                          "channels"))
        return [{"name": c.name.decode(errors="replace"),
                 "state": _STATES.get(c.state, str(c.state)),
                 "ring_size": c.ring_size, "max_msg": c.max_msg,
                 "queued": c.queued, "producer": bool(c.flags & 1),
                 "consumer": bool(c.flags & 2),
                 "generation": c.generation} for c in arr[:n]]

    def create(self, name, ring_size, flags, peer=None, vector=None,
               tx_vector=None):
        """Create channel name and open it as flags' role (PRODUCER or
        CONSUMER, plus RESET).  See Channel for peer and vectors."""
        return Channel(self, name, flags, ring_size, peer, vector, tx_vector)

    def attach(self, name, flags, peer=None, vector=None, tx_vector=None):
        """Attach to an existing channel as flags' role (plus TAKEOVER)."""
        return Channel(self, name, flags, None, peer, vector, tx_vector)


class Channel(_Closing):
    """One end of a message channel.

    With peer and vector, it sleeps on our doorbell vector and rings the
    peer's tx_vector (default: the same number) when the peer sleeps;
    without them, or on a target without doorbells, it polls."""

    def __init__(self, region, name, flags, ring_size, peer, vector,
                 tx_vector):
        self._h = None
        self.region, self.name = region, name
        dev, lib = region.dev, region.dev._lib
        self._lib = lib
        self._ctx = _SigCtx(size=ctypes.sizeof(_SigCtx))
        self._sig = _Signal(size=ctypes.sizeof(_Signal))
        sig = None
        if peer is not None:
            if vector is None:
                raise ValueError("a peer needs a vector")
            tx = vector if tx_vector is None else tx_vector
            r = lib.ivshm_dev_signal(dev._h, peer, tx, vector,
                                     ctypes.byref(self._ctx),
                                     ctypes.byref(self._sig))
            if r != -errno.EOPNOTSUPP:
                _check(r, "signal")
                sig = ctypes.byref(self._sig)
        if ring_size is None:
            h = lib.ivshm_chan_attach(region._h, name.encode(), flags, sig)
        else:
            h = lib.ivshm_chan_create(region._h, name.encode(), ring_size,
                                      flags, sig)
        self._h = _handle(h, "channel " + name)

    def close(self):
        """Detach (the peer sees it) and free the handle."""
        if self._h:
            self._lib.ivshm_chan_close(self._h)
            self._h = None

    @property
    def peer(self):
        """The peer id rung for this channel; may be changed, e.g. once a
        request says who the requester is."""
        return self._ctx.peer

    @peer.setter
    def peer(self, value):
        if not 0 <= value <= 65535:
            raise ValueError("peer id out of range")
        self._ctx.peer = value

    @property
    def max_msg(self):
        return self._lib.ivshm_chan_max_msg(self._h)

    def fd(self):
        """The fd that becomes readable on our doorbell, for a poll
        loop; OSError(EOPNOTSUPP) when polling."""
        return _check(self._lib.ivshm_chan_fd(self._h), "fd")

    def send(self, data, timeout_ms=-1):
        """Send one message (bytes-like, 1..max_msg bytes)."""
        data = bytes(data)
        _check(self._lib.ivshm_chan_send(self._h, data, len(data),
                                          timeout_ms), "send")

    def recv(self, timeout_ms=-1, cap=None):
        """The next message, as bytes."""
        cap = cap or self.max_msg
        buf = ctypes.create_string_buffer(cap)
        n = _check(self._lib.ivshm_chan_recv(self._h, buf, cap, timeout_ms),
                   "recv")
        return buf.raw[:n]
