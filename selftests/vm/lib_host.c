// SPDX-License-Identifier: GPL-2.0-only
/*
 * The host peer of the "peers" scenario, through libivshm's unix: backend:
 * the harness forwards the guests' "#REQ lib ..." requests to it, one
 * command per line on stdin, one answer per line on stdout:
 *
 *   id                 our peer id
 *   ring PEER VECTOR   ivshm_ring() result
 *   wait VECTOR MS     ivshm_wait() result (count or -errno)
 *   peers              known peer ids, or "-"
 *   events MS          peer events since the last call, after processing
 *                      for up to MS: "join 1,leave 2,gone" or "none"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivshm.h"

static char events[4096];

static void on_event(struct ivshm_dev *dev, const struct ivshm_peer_event *ev,
		     void *arg)
{
	size_t n = strlen(events);

	(void)dev;
	(void)arg;
	if (n > sizeof(events) - 32)
		return;
	if (ev->type == IVSHM_PEER_JOIN)
		snprintf(events + n, sizeof(events) - n, "join:%d,", ev->peer);
	else if (ev->type == IVSHM_PEER_LEAVE)
		snprintf(events + n, sizeof(events) - n, "leave:%d,", ev->peer);
	else if (ev->type == IVSHM_SERVER_GONE)
		snprintf(events + n, sizeof(events) - n, "gone,");
}

int main(int argc, char **argv)
{
	struct ivshm_dev *dev;
	char line[256];

	if (argc != 2) {
		fprintf(stderr, "usage: lib_host unix:SOCK\n");
		return 2;
	}
	dev = ivshm_open(argv[1], IVSHM_OPEN_VECTORS(4));
	if (!dev) {
		printf("error open %s\n", strerror(errno));
		return 1;
	}
	ivshm_set_event_cb(dev, on_event, NULL);
	printf("ready %d\n", ivshm_peer_id(dev));
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		unsigned int a, b;
		int ms;

		if (!strncmp(line, "id", 2)) {
			printf("%d\n", ivshm_peer_id(dev));
		} else if (sscanf(line, "ring %u %u", &a, &b) == 2) {
			printf("%d\n", ivshm_ring(dev, a, b));
		} else if (sscanf(line, "wait %u %d", &a, &ms) == 2) {
			printf("%d\n", ivshm_wait(dev, a, ms));
		} else if (!strncmp(line, "peers", 5)) {
			uint16_t ids[64];
			int n = ivshm_peers(dev, ids, 64);

			if (n <= 0)
				printf("-");
			for (int i = 0; i < n && i < 64; i++)
				printf("%s%u", i ? "," : "", ids[i]);
			printf("\n");
		} else if (sscanf(line, "events %d", &ms) == 1) {
			int r = ivshm_process_events(dev, ms);

			if (r < 0 && r != -ECONNRESET)
				printf("error %d\n", r);
			else
				printf("%s\n", events[0] ? events : "none");
			events[0] = 0;
		} else {
			printf("error unknown command\n");
		}
		fflush(stdout);
	}
	ivshm_close(dev);
	return 0;
}
