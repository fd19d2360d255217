#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""reqresp.py: the requester of examples/reqresp.c, in Python.

    python3 reqresp.py TARGET [COUNT]

Finds the responder ("reqresp serve TARGET") by its name in the region's
peer directory, "reqresp", asks it COUNT questions (default 100) and
checks every answer.  Same wire format
as the C requester: struct msg { u32 peer; u32 seq; char text[56]; },
channel "req" (we produce, doorbell vector 1) and "resp" (we consume,
vector 2).  Needs the python3-ivshm package (or PYTHONPATH=python).
"""
import struct
import sys
import time

import ivshm

MSG = struct.Struct("<II56s")
ANSWER_MS = 2000
NAME = "reqresp"        # the responder in the peer directory


def retry(call, *args, wait_s=30, **kwargs):
    """call(...), retried while what it needs is not there yet (the
    responder registers, then creates its channels)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return call(*args, **kwargs)
        except (FileNotFoundError, BlockingIOError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: reqresp.py TARGET [COUNT]")
    target = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    with ivshm.Device(target) as dev:
        me = dev.peer_id or 0
        with retry(dev.region) as reg:
            server = retry(reg.lookup, NAME)
            with retry(reg.attach, "req", ivshm.PRODUCER, peer=server,
                       vector=1) as req, \
                    retry(reg.attach, "resp", ivshm.CONSUMER, peer=server,
                          vector=2) as resp:
                ask(req, resp, me, count)
    print("reqresp.py: %d answers from \"%s\", peer %d" % (count, NAME,
                                                          server))


def ask(req, resp, me, count):
    """count questions on req, each answer checked from resp."""
    for seq in range(1, count + 1):
        req.send(MSG.pack(me, seq, b"ping %d" % seq), ANSWER_MS)
        try:
            answer = resp.recv(ANSWER_MS)
        except TimeoutError:
            sys.exit("reqresp.py: no answer to %d in time" % seq)
        except BrokenPipeError:
            sys.exit("reqresp.py: the responder is gone")
        if len(answer) != MSG.size or MSG.unpack(answer)[1] != seq:
            sys.exit("reqresp.py: bad answer to %d" % seq)


if __name__ == "__main__":
    main()
