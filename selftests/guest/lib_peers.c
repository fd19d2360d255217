// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scenario "peers": two guests (role A and B, ivshmtest.role=) and a host
 * peer, every one of them using libivshm.  Doorbells guest<->host and
 * guest<->guest; then B's QEMU is killed and the host peer must learn that
 * B left; then the server is killed and A and the host keep ringing each
 * other, as the protocol promises.
 */
#include "kselftest_harness.h"
#include "vmtest.h"

#include <ivshm.h>

#define HOST_RX(r)	((r) == 'A' ? 1 : 2)	/* host vector each rings */
#define GUEST_RX	2			/* host rings guests here */
#define PEER_RX		3			/* guests ring each other */

static char role(void)
{
	char buf[8];

	return vt_cmdline("ivshmtest.role", buf, sizeof(buf)) ? buf[0] : '?';
}

static int host_int(const char *fmt, int a, int b)
{
	char ans[256];

	if (vt_host(ans, sizeof(ans), fmt, a, b))
		return -100000;
	return atoi(ans);
}

FIXTURE(peers) {
	struct ivshm_dev *dev;
	char role;
	int id, host;
};

FIXTURE_SETUP(peers)
{
	self->role = role();
	ASSERT_TRUE(self->role == 'A' || self->role == 'B');
	self->dev = ivshm_open("/dev/ivshm0", 0);
	ASSERT_NE(NULL, self->dev) TH_LOG("ivshm_open: %m");
	self->id = ivshm_peer_id(self->dev);
	ASSERT_LE(0, self->id);
	self->host = host_int("lib id", 0, 0);
	ASSERT_LE(0, self->host);
}

FIXTURE_TEARDOWN(peers)
{
	ivshm_close(self->dev);
}

TEST_F(peers, guest_and_host_ring_both_ways)
{
	ASSERT_EQ(0, ivshm_ring(self->dev, self->host, HOST_RX(self->role)));
	EXPECT_LE(1, host_int("lib wait %d %d", HOST_RX(self->role), 5000));
	EXPECT_EQ(0, host_int("lib ring %d %d", self->id, GUEST_RX));
	EXPECT_LE(1, ivshm_wait(self->dev, GUEST_RX, 5000));
}

TEST_F(peers, host_knows_both_guests)
{
	char ans[256], me[16];

	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "lib peers"));
	snprintf(me, sizeof(me), "%d", self->id);
	EXPECT_NE(NULL, strstr(ans, me)) TH_LOG("host peers: %s", ans);
	/* A guest cannot know its peers: the device does not tell. */
	EXPECT_EQ(-EOPNOTSUPP, ivshm_peers(self->dev, NULL, 0));
}

TEST_F(peers, guests_ring_each_other)
{
	char ans[64], other = self->role == 'A' ? 'B' : 'A';
	int peer;

	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "set lib-id-%c %d", self->role,
			     self->id));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "get lib-id-%c", other));
	peer = atoi(ans);
	if (self->role == 'A') {
		ASSERT_EQ(0, ivshm_ring(self->dev, peer, PEER_RX));
		EXPECT_LE(1, ivshm_wait(self->dev, PEER_RX, 10000));
	} else {
		EXPECT_LE(1, ivshm_wait(self->dev, PEER_RX, 10000));
		ASSERT_EQ(0, ivshm_ring(self->dev, peer, PEER_RX));
	}
}

/* B waits here until A has it killed; A checks the host saw it leave. */
TEST_F(peers, host_learns_that_a_killed_guest_left)
{
	char ans[512], want[32];
	int b;

	if (self->role == 'B') {
		ASSERT_EQ(0, vt_host(ans, sizeof(ans), "set lib-B-waiting 1"));
		/* Never answered: A asks the harness to kill this QEMU. */
		vt_host(ans, sizeof(ans), "get never-set");
		ASSERT_TRUE(0) TH_LOG("guest B is still alive");
	}
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "get lib-B-waiting"));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "get lib-id-B"));
	b = atoi(ans);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "lib events 0"));
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "kill-guest guestB"));
	snprintf(want, sizeof(want), "leave:%d,", b);
	for (int i = 0; i < 20; i++) {
		ASSERT_EQ(0, vt_host(ans, sizeof(ans), "lib events 500"));
		if (strstr(ans, want))
			break;
	}
	EXPECT_NE(NULL, strstr(ans, want)) TH_LOG("events: %s", ans);
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "lib peers"));
	snprintf(want, sizeof(want), "%d", b);
	EXPECT_EQ(NULL, strstr(ans, want)) TH_LOG("peers: %s", ans);
}

TEST_F(peers, server_killed_the_rest_keep_working)
{
	char ans[512];

	if (self->role == 'B')
		SKIP(return, "guest B was killed before this test");
	ASSERT_EQ(0, vt_host(ans, sizeof(ans), "kill-server"));
	for (int i = 0; i < 10; i++) {
		ASSERT_EQ(0, vt_host(ans, sizeof(ans), "lib events 500"));
		if (strstr(ans, "gone"))
			break;
	}
	EXPECT_NE(NULL, strstr(ans, "gone")) TH_LOG("events: %s", ans);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, ivshm_ring(self->dev, self->host, HOST_RX('A')));
		EXPECT_LE(1, host_int("lib wait %d %d", HOST_RX('A'), 5000));
		EXPECT_EQ(0, host_int("lib ring %d %d", self->id, GUEST_RX));
		EXPECT_LE(1, ivshm_wait(self->dev, GUEST_RX, 5000));
	}
}

TEST_HARNESS_MAIN
