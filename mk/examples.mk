# SPDX-License-Identifier: GPL-2.0-only
# examples/: small complete programs, compiled as a user would compile
# them (the public header only, no _GNU_SOURCE, no private include path),
# against the static library so that they also run in the test guests.
# make check runs them (selftests/host/examples.sh, the guest scenario
# "twoguests" through selftests/guest/examples_guest.sh).

EXAMPLES := $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))

examples: $(EXAMPLES)

_all: examples

$(B)/examples/%: examples/%.c include/ivshm.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -std=gnu11 -I$(TOP)/include -o $@ $< $(LIB_A) -ludev -pthread

.PHONY: examples
