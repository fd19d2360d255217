// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm info: what a target is, and whether a ring region is formatted.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Region header fields, from docs/wire-format.md. */
#define RGN_OFF_MAGIC		0
#define RGN_OFF_VERSION		8

struct region_state {
	bool present;		/* the memory can hold a region header */
	uint64_t magic;
	uint32_t version;
	int err;		/* 0: formatted and valid, else errno */
	int channels;
	long long avail;
	char label[IVSHM_REGION_LABEL_MAX];	/* "" if none */
};

static void region_probe(struct ivshm_dev *dev, struct region_state *rs)
{
	const volatile unsigned char *base = ivshm_base(dev);
	struct ivshm_region *r;

	memset(rs, 0, sizeof(*rs));
	if (ivshm_size(dev) < IVSHM_REGION_HDR_SIZE)
		return;
	rs->present = true;
	rs->magic = *(const volatile uint64_t *)(base + RGN_OFF_MAGIC);
	rs->version = *(const volatile uint32_t *)(base + RGN_OFF_VERSION);
	r = ivshm_region_open(ivshm_base(dev), ivshm_size(dev));
	if (!r) {
		rs->err = errno;
		return;
	}
	rs->channels = ivshm_region_channels(r, NULL, 0);
	rs->avail = ivshm_region_avail(r);
	/* validated by the library: safe to print as it is */
	if (ivshm_region_label(r, rs->label, sizeof(rs->label)) < 0)
		rs->label[0] = '\0';
	if (rs->channels < 0)
		rs->err = -rs->channels;
	else if (rs->avail < 0)
		rs->err = (int)-rs->avail;
	ivshm_region_close(r);
}

/* In a guest: the ivshm_list() entry of this node, for mode and PCI. */
static const struct ivshm_devinfo *guest_entry(const char *target,
					       struct ivshm_devinfo *list, int n)
{
	char want[PATH_MAX], have[PATH_MAX];
	int i;

	if (!realpath(target, want))
		return NULL;
	for (i = 0; i < n; i++)
		if (list[i].node && realpath(list[i].node, have) &&
		    !strcmp(want, have))
			return &list[i];
	return NULL;
}

static const char *region_text(const struct region_state *rs)
{
	switch (rs->err) {
	case 0:
		return "formatted";
	case EAGAIN:
		return "not formatted";
	case EPROTONOSUPPORT:
		return "unsupported layout version";
	default:
		return "invalid";
	}
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const struct ivshm_devinfo *gi = NULL;
	struct ivshm_devinfo *list = NULL;
	const char *target, *backend, *mode;
	struct ivshm_dev_info di = { .size = sizeof(di) };
	struct region_state rs;
	struct ivshm_dev *dev;
	int opt, r, peer, vectors, npeers = -1, n = 0;
	char sz[32];

	args_prepare(&argc, &argv, COMMON_SHORTOPTS, opts);
	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, opts,
				  NULL)) != -1)
		if ((r = common_opt(opt, argv[0])) >= 0)
			return r;
	if (argc - optind != 1)
		return usage_err("usage: ivshm info TARGET");
	target = argv[optind];
	dev = open_target(target);
	if (!dev)
		return EX_FAIL;
	backend = backend_of(target);
	peer = ivshm_peer_id(dev);
	vectors = ivshm_vectors(dev);
	if (!strcmp(backend, "unix")) {
		ivshm_process_events(dev, 0);
		npeers = ivshm_peers(dev, NULL, 0);
	}
	if (!strcmp(backend, "guest")) {
		n = ivshm_list(&list, sizeof(*list));
		if (n > 0)
			gi = guest_entry(target, list, n);
	}
	if (gi && gi->mode)
		mode = gi->mode;
	else
		mode = peer >= 0 ? "doorbell" : "plain";
	region_probe(dev, &rs);
	if (ivshm_dev_info(dev, &di) < 0)
		di.backend = 0;

	if (cli.json) {
		json_obj_begin();
		json_key("target");
		json_str(target);
		json_key("backend");
		json_str(backend);
		json_key("mode");
		json_str(mode);
		if (gi) {
			json_key("pci");
			json_str(gi->pci);
			json_key("irq_mode");
			json_str(gi->irq_mode);
		}
		json_key("size");
		json_u64(ivshm_size(dev));
		json_key("peer_id");
		if (peer >= 0)
			json_i64(peer);
		else
			json_null();
		json_key("vectors");
		json_i64(vectors < 0 ? 0 : vectors);
		json_key("sealed");	/* null: device memory (guest) */
		if (di.backend == IVSHM_BACKEND_GUEST)
			json_null();
		else
			json_bool(di.flags & IVSHM_INFO_SEALED);
		if (npeers >= 0) {
			json_key("peers");
			json_i64(npeers);
		}
		json_key("ring");
		if (!rs.present) {
			json_null();
		} else {
			json_obj_begin();
			json_key("formatted");
			json_bool(rs.err == 0);
			json_key("state");
			json_str(region_text(&rs));
			json_key("magic");	/* a string: beyond 2^53 */
			snprintf(sz, sizeof(sz), "0x%016llx",
				 (unsigned long long)rs.magic);
			json_str(sz);
			json_key("version");
			json_u64(rs.version);
			if (!rs.err) {
				json_key("channels");
				json_i64(rs.channels);
				json_key("free");
				json_i64(rs.avail);
				json_key("label");
				json_str(rs.label[0] ? rs.label : NULL);
			}
			json_obj_end();
		}
		json_obj_end();
		json_end();
	} else {
		printf("target:   %s\n", target);
		printf("backend:  %s\n", !strcmp(backend, "unix") ?
		       "unix (ivshm-server peer)" : !strcmp(backend, "shm") ?
		       "shm (host file, no doorbells)" : "guest (ivshm driver)");
		printf("mode:     %s\n", mode);
		if (gi) {
			printf("pci:      %s\n", gi->pci ? gi->pci : "-");
			printf("irq mode: %s\n", gi->irq_mode ? gi->irq_mode : "-");
		}
		printf("size:     %zu (%s)\n", ivshm_size(dev),
		       human_size(ivshm_size(dev), sz, sizeof(sz)));
		if (peer >= 0)
			printf("peer id:  %d\n", peer);
		else
			printf("peer id:  - (no doorbells)\n");
		printf("vectors:  %d\n", vectors < 0 ? 0 : vectors);
		if (di.backend == IVSHM_BACKEND_GUEST)
			printf("memory:   device BAR\n");
		else if (di.flags & IVSHM_INFO_SEALED)
			printf("memory:   sealed (cannot shrink)\n");
		else
			printf("memory:   not sealed (a process that truncates it kills this one: SIGBUS)\n");
		if (npeers >= 0)
			printf("peers:    %d other%s connected\n", npeers,
			       npeers == 1 ? "" : "s");
		if (!rs.present)
			printf("ring:     none (memory smaller than a region header)\n");
		else if (!rs.err)
			printf("ring:     formatted, version %u, %d channel%s, %s free\n",
			       rs.version, rs.channels,
			       rs.channels == 1 ? "" : "s",
			       human_size((uint64_t)rs.avail, sz, sizeof(sz)));
		if (rs.present && !rs.err)
			printf("label:    %s\n", rs.label[0] ? rs.label : "-");
		if (!rs.present)
			;
		else if (rs.err == EAGAIN)
			printf("ring:     not formatted\n");
		else
			printf("ring:     %s (magic 0x%016llx, version %u: %s)\n",
			       region_text(&rs), (unsigned long long)rs.magic,
			       rs.version, strerror(rs.err));
		if (rs.present && !rs.err)
			printf("label:    %s\n", rs.label[0] ? rs.label : "-");
	}
	ivshm_list_free(list);
	ivshm_close(dev);
	return EX_OK;
}
