// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Writes the seed corpus for ring_fuzz: valid 16 KiB regions in interesting
 * states (empty, messages queued, wrapped with a padding record, several
 * channels, a maximum-size message, registered peers, a deleted channel's
 * kept space).  Usage: mkcorpus DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ivshm.h"

#define REG	16384u

static unsigned char mem[REG] __attribute__((aligned(64)));

static void out(const char *dir, const char *name, const unsigned char *ops,
		size_t nops)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(mem, 1, REG, f) != REG ||
	    (nops && fwrite(ops, 1, nops, f) != nops) || fclose(f)) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static const unsigned char ops[] = { 0, 0, 1, 2, 3, 4, 7, 0, 1, 9, 12 };
	unsigned char msg[1024];
	struct ivshm_region *r, *peer;
	struct ivshm_chan *p, *c;
	int i;

	if (argc != 2)
		return 2;
	memset(msg, 'm', sizeof(msg));

	r = ivshm_region_format(mem, REG);
	out(argv[1], "empty-region", NULL, 0);

	p = ivshm_chan_create(r, "a", 256, IVSHM_CHAN_PRODUCER, NULL);
	out(argv[1], "one-channel-empty", NULL, 0);
	for (i = 1; i <= 6; i++)
		ivshm_chan_send(p, msg, (size_t)i * 5, 0);
	out(argv[1], "one-channel-queued", ops, sizeof(ops));

	/* consume some, then send across the end: padding record */
	c = ivshm_chan_attach(r, "a", IVSHM_CHAN_CONSUMER, NULL);
	for (i = 0; i < 5; i++)
		ivshm_chan_recv(c, msg, sizeof(msg), 0);
	ivshm_chan_send(p, msg, 60, 0);
	ivshm_chan_send(p, msg, 64, 0);
	ivshm_chan_send(p, msg, 1, 0);
	out(argv[1], "wrapped-with-pad", NULL, 0);
	ivshm_chan_close(c);
	ivshm_chan_close(p);

	p = ivshm_chan_create(r, "big", 2048, IVSHM_CHAN_CONSUMER, NULL);
	ivshm_chan_close(p);
	p = ivshm_chan_attach(r, "big", IVSHM_CHAN_PRODUCER, NULL);
	ivshm_chan_send(p, msg, ivshm_chan_max_msg(p), 0);
	ivshm_chan_send(p, msg, 3, 0);
	out(argv[1], "two-channels-max-msg", ops, sizeof(ops));
	ivshm_chan_close(p);

	/* peers in the directory, one with a heartbeat */
	peer = ivshm_region_open(mem, REG);
	ivshm_peer_register(r, "host", 0, 1000, 0);
	ivshm_peer_register(peer, "guest-1", 3, 2000, 0);
	ivshm_peer_heartbeat(peer);
	out(argv[1], "peers", ops, sizeof(ops));

	/* a deleted channel: a free entry that keeps its space */
	p = ivshm_chan_create(r, "gone", 256, IVSHM_CHAN_PRODUCER |
			      IVSHM_CHAN_AUTODELETE, NULL);
	c = ivshm_chan_attach(peer, "gone", IVSHM_CHAN_CONSUMER, NULL);
	ivshm_chan_send(p, msg, 10, 0);
	ivshm_chan_close(c);
	ivshm_chan_close(p);
	out(argv[1], "deleted-channel-space", ops, sizeof(ops));
	ivshm_region_close(peer);
	ivshm_region_close(r);
	return 0;
}
