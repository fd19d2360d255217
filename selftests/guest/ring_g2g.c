// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest <-> guest message rings (scenario "twoguests", roles A and B):
 * A formats the shared memory and creates channels a2b and b2a; B
 * attaches; A sends numbered, checksummed messages of varying sizes, B
 * checks and echoes them, A checks the echoes.  Doorbells wake sleepers.
 */
#include "kselftest_harness.h"
#include "vmtest.h"

#include <ivshm.h>

#define MESSAGES	50000
#define RING		(64u << 10)
#define RX_VECTOR	1

static char role(void)
{
	char buf[8];

	return vt_cmdline("ivshmtest.role", buf, sizeof(buf)) ? buf[0] : '?';
}

static uint32_t sum(const unsigned char *p, size_t n, uint64_t seq)
{
	uint32_t h = 2166136261u ^ (uint32_t)seq;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* Message seq: 8-byte seq, 4-byte checksum, then (seq % 500) bytes. */
static size_t fill(unsigned char *buf, uint64_t seq)
{
	size_t n = seq % 500;
	uint32_t s;

	memcpy(buf, &seq, 8);
	for (size_t i = 0; i < n; i++)
		buf[12 + i] = (unsigned char)(seq + i * 7);
	s = sum(buf + 12, n, seq);
	memcpy(buf + 8, &s, 4);
	return 12 + n;
}

static int check(const unsigned char *buf, ssize_t len, uint64_t seq)
{
	uint64_t got;
	uint32_t s;

	if (len != (ssize_t)(12 + seq % 500))
		return 0;
	memcpy(&got, buf, 8);
	memcpy(&s, buf + 8, 4);
	return got == seq && s == sum(buf + 12, len - 12, seq);
}

TEST(ring_echo_between_guests)
{
	struct ivshm_chan *tx = NULL, *rx = NULL;
	struct ivshm_region *reg = NULL;
	struct ivshm_chan_stats st = { .size = sizeof(st) };
	struct ivshm_sigctx ctx = { .size = sizeof(ctx) };
	struct ivshm_signal sig = { .size = sizeof(sig) };
	unsigned char out[600], in[600];
	struct ivshm_dev *dev;
	char ans[64], r = role();
	uint64_t sent = 0, got = 0;
	int other;

	ASSERT_TRUE(r == 'A' || r == 'B');
	dev = ivshm_open("/dev/ivshm0", 0);
	ASSERT_NE(NULL, dev);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "set ring-id-%c %d", r,
			     ivshm_peer_id(dev)));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "get ring-id-%c",
			     r == 'A' ? 'B' : 'A'));
	other = atoi(ans);
	ASSERT_EQ(0, ivshm_dev_signal(dev, other, RX_VECTOR, RX_VECTOR, &ctx,
				      &sig));

	if (r == 'A') {
		reg = ivshm_region_format(ivshm_base(dev), ivshm_size(dev));
		ASSERT_NE(NULL, reg);
		tx = ivshm_chan_create(reg, "a2b", RING, IVSHM_CHAN_PRODUCER,
				       &sig);
		rx = ivshm_chan_create(reg, "b2a", RING, IVSHM_CHAN_CONSUMER,
				       &sig);
		ASSERT_NE(NULL, tx);
		ASSERT_NE(NULL, rx);
		ASSERT_EQ(0, vt_host(ans, sizeof(ans), "set ring-ready 1"));
		while (got < MESSAGES) {
			ssize_t len;
			int ret = -EAGAIN;

			if (sent < MESSAGES) {
				ret = ivshm_chan_send(tx, out, fill(out, sent), 0);
				if (!ret)
					sent++;
				ASSERT_TRUE(!ret || ret == -EAGAIN);
			}
			len = ivshm_chan_recv(rx, in, sizeof(in),
					      ret == -EAGAIN ? 10000 : 0);
			if (len == -EAGAIN)
				continue;
			ASSERT_TRUE(check(in, len, got))
				TH_LOG("echo %llu bad (%zd)",
				       (unsigned long long)got, len);
			got++;
		}
	} else {
		ASSERT_EQ(0, vt_host(ans, sizeof(ans), "get ring-ready"));
		reg = ivshm_region_open(ivshm_base(dev), ivshm_size(dev));
		ASSERT_NE(NULL, reg);
		rx = ivshm_chan_attach(reg, "a2b", IVSHM_CHAN_CONSUMER, &sig);
		tx = ivshm_chan_attach(reg, "b2a", IVSHM_CHAN_PRODUCER, &sig);
		ASSERT_NE(NULL, rx);
		ASSERT_NE(NULL, tx);
		while (got < MESSAGES) {
			ssize_t len = ivshm_chan_recv(rx, in, sizeof(in), 10000);

			ASSERT_TRUE(check(in, len, got))
				TH_LOG("message %llu bad (%zd)",
				       (unsigned long long)got, len);
			got++;
			ASSERT_EQ(0, ivshm_chan_send(tx, in, len, 10000));
		}
	}
	ivshm_chan_stats(tx, &st);
	TH_LOG("role %c: %llu messages checked, %llu doorbells rung, %llu sleeps",
	       r, (unsigned long long)got, (unsigned long long)st.notifies,
	       (unsigned long long)st.sleeps);
	/* Both done before anyone detaches. */
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "set ring-done-%c 1", r));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "get ring-done-%c",
			     r == 'A' ? 'B' : 'A'));
	ivshm_chan_close(tx);
	ivshm_chan_close(rx);
	ivshm_region_close(reg);
	ivshm_close(dev);
}

TEST_HARNESS_MAIN
