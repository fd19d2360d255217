#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""reqresp.py: the requester of examples/reqresp.c, in Python.

    python3 reqresp.py TARGET PEER [COUNT]

Asks the responder (peer id PEER, started with "reqresp serve TARGET")
COUNT questions (default 100) and checks every answer.  Same wire format
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


def attach(region, name, role, peer, vector, wait_s=30):
    """Attach to a channel the responder creates, retrying until it is."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return region.attach(name, role, peer=peer, vector=vector)
        except (FileNotFoundError, BlockingIOError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: reqresp.py TARGET PEER [COUNT]")
    target, server = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    with ivshm.Device(target) as dev:
        me = dev.peer_id or 0
        with dev.region() as reg, \
                attach(reg, "req", ivshm.PRODUCER, server, 1) as req, \
                attach(reg, "resp", ivshm.CONSUMER, server, 2) as resp:
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
    print("reqresp.py: %d answers from peer %d" % (count, server))


if __name__ == "__main__":
    main()
