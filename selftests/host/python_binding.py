# SPDX-License-Identifier: GPL-2.0-only
"""The Python binding (python/ivshm) against our ivshm-server: run by
python_test.sh with the server's socket as argv[1].  TAP output, one line
per test method."""
import errno
import os
import sys
import time
import unittest

import ivshm

SOCK = None
VECTORS = 4
SIZE = 4 << 20


def version_in_header():
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../..")
    v = {}
    for ln in open(os.path.join(top, "include/ivshm.h")):
        w = ln.split()
        if len(w) == 3 and w[0] == "#define" and \
                w[1].startswith("IVSHM_VERSION_") and w[2].isdigit():
            v[w[1][len("IVSHM_VERSION_"):]] = w[2]
    return "%s.%s.%s" % (v["MAJOR"], v["MINOR"], v["PATCH"])


class Binding(unittest.TestCase):
    def setUp(self):
        self.a = ivshm.Device("unix:" + SOCK, vectors=VECTORS)
        self.b = ivshm.Device("unix:" + SOCK, vectors=VECTORS)

    def tearDown(self):
        self.a.close()
        self.b.close()

    def test_version_is_the_headers(self):
        self.assertEqual(ivshm.version(), version_in_header())

    def test_info(self):
        i = self.a.info()
        self.assertEqual(i["backend"], "unix")
        self.assertEqual(i["size"], SIZE)
        self.assertEqual(self.a.size, SIZE)
        self.assertTrue(i["doorbells"])
        self.assertTrue(i["sealed"])
        self.assertEqual(i["vectors"], VECTORS)
        self.assertNotEqual(self.a.peer_id, self.b.peer_id)

    def test_open_errors(self):
        with self.assertRaises(FileNotFoundError):
            ivshm.Device("unix:/nonexistent/ivshm.sock")
        with self.assertRaises(OSError) as cm:
            ivshm.Device("nonsense")
        self.assertEqual(cm.exception.errno, errno.EINVAL)

    def test_peers(self):
        deadline = time.monotonic() + 5
        while self.b.peer_id not in self.a.peers() and \
                time.monotonic() < deadline:
            self.a.process_events(100)
        self.assertIn(self.b.peer_id, self.a.peers())
        self.assertNotIn(self.a.peer_id, self.a.peers())

    def test_ring_and_wait(self):
        self.a.ring(self.b.peer_id, 2)
        self.assertGreaterEqual(self.b.wait(2, 5000), 1)
        t = time.monotonic()
        with self.assertRaises(TimeoutError):
            self.b.wait(2, 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.15)
        with self.assertRaises(OSError) as cm:
            self.b.wait(VECTORS, 0)
        self.assertEqual(cm.exception.errno, errno.EINVAL)

    def test_memory_is_shared(self):
        self.a.write(SIZE - 16, b"python binding!!")
        self.assertEqual(self.b.read(SIZE - 16, 16), b"python binding!!")
        with self.assertRaises(ValueError):
            self.a.read(SIZE - 8, 16)

    def test_channel_send_recv_with_timeouts(self):
        a, b = self.a, self.b
        with a.region(format=True) as ra, b.region() as rb:
            ra.label = "py-test"
            self.assertEqual(rb.label, "py-test")
            tx = ra.create("py", 1 << 12, ivshm.PRODUCER,
                           peer=b.peer_id, vector=1)
            rx = rb.attach("py", ivshm.CONSUMER, peer=a.peer_id, vector=1)
            self.assertEqual(tx.max_msg, 1 << 10)
            self.assertGreaterEqual(rx.fd(), 0)
            chans = rb.channels()
            self.assertEqual([(c["name"], c["state"], c["producer"],
                               c["consumer"]) for c in chans],
                             [("py", "ready", True, True)])
            for i in range(100):
                tx.send(b"message %d" % i, 1000)
                self.assertEqual(rx.recv(1000), b"message %d" % i)
            t = time.monotonic()
            with self.assertRaises(TimeoutError):
                rx.recv(200)
            self.assertGreaterEqual(time.monotonic() - t, 0.15)
            with self.assertRaises(BlockingIOError):
                rx.recv(0)
            with self.assertRaises(OSError) as cm:
                tx.send(b"x" * 2000, 0)
            self.assertEqual(cm.exception.errno, errno.EMSGSIZE)
            tx.close()
            with self.assertRaises(BrokenPipeError):
                rx.recv(1000)
            rx.close()

    def test_peer_directory(self):
        a, b = self.a, self.b
        with a.region(format=True) as ra, b.region() as rb:
            self.assertEqual(ra.register("py-host"), 0)
            with self.assertRaises(FileExistsError):
                rb.register("py-host", b.peer_id)
            rb.register("py-guest")
            self.assertEqual(rb.lookup("py-host"), a.peer_id)
            self.assertEqual(ra.lookup("py-guest"), b.peer_id)
            with self.assertRaises(FileNotFoundError):
                ra.lookup("nobody")
            seen = {p["name"]: p for p in ra.peers()}
            self.assertEqual(sorted(seen), ["py-guest", "py-host"])
            self.assertTrue(seen["py-host"]["self"])
            self.assertFalse(seen["py-guest"]["self"])
            beat = seen["py-guest"]["heartbeat"]
            rb.heartbeat()
            self.assertGreater([p for p in ra.peers()
                                if p["name"] == "py-guest"][0]["heartbeat"],
                               beat)
            rb.unregister()
            with self.assertRaises(FileNotFoundError):
                ra.lookup("py-guest")

    def test_shm_target(self):
        path = "/dev/shm/ivshm-test-py-%d" % os.getpid()
        with open(path, "wb") as f:
            f.truncate(1 << 20)
        try:
            with ivshm.Device("shm:" + path) as d:
                self.assertEqual(d.info()["backend"], "shm")
                self.assertIsNone(d.peer_id)
                with self.assertRaises(OSError) as cm:
                    d.ring(0, 0)
                self.assertEqual(cm.exception.errno, errno.EOPNOTSUPP)
                with d.region(format=True) as r:
                    tx = r.create("p", 4096, ivshm.PRODUCER)
                    rx = r.attach("p", ivshm.CONSUMER)
                    tx.send(b"polled")
                    self.assertEqual(rx.recv(1000), b"polled")
                    tx.close()
                    rx.close()
        finally:
            os.unlink(path)


class Tap(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0

    def _line(self, test, status, detail=None):
        self.n += 1
        if detail:
            for ln in detail.rstrip().splitlines():
                print("# " + ln)
        print("%s %d python_%s" % (status, self.n, test._testMethodName),
              flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, "not ok", self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, "not ok", self.errors[-1][1])


def main():
    global SOCK
    SOCK = sys.argv[1]
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Binding)
    print("1..%d" % suite.countTestCases(), flush=True)
    result = Tap()
    suite.run(result)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
