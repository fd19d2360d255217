#!/bin/sh
# In-guest half of the "rings" scenario on arm64: the lost-wakeup stress
# (selftests/host/ring_wakeup.c, cross-built) on a weakly ordered CPU,
# shortened for TCG: 200000 round trips or 40 s, whichever comes first (a
# run cut short must still reach a tenth).
IVSHM_WAKEUP_ROUNDTRIPS=200000 IVSHM_WAKEUP_SECONDS=40 exec ./ring_wakeup
