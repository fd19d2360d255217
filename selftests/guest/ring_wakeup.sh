#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# In-guest half of the "rings" scenario on arm64: the lost-wakeup stress
# (selftests/host/ring_wakeup.c, cross-built) on a weakly ordered CPU,
# shortened for TCG, where a round trip that sleeps costs about 3 ms (two
# vCPUs on two shared host cores): 30000 round trips or 60 s over both
# modes, whichever comes first (a run cut short must still reach a tenth).
IVSHM_WAKEUP_ROUNDTRIPS=30000 IVSHM_WAKEUP_SECONDS=60 exec ./ring_wakeup
