// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm ring / wait / peers: doorbells and the peers that have them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int no_doorbells(const char *target)
{
	err_errno(EOPNOTSUPP, "%s has no doorbells (%s)", target,
		!strcmp(backend_of(target), "shm") ?
		"shm: targets are memory only; use a unix: target" :
		"an ivshmem-plain device");
	return EX_FAIL;
}

int cmd_ring(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	unsigned int peer, vector;
	struct ivshm_dev *dev;
	const char *target;
	int opt, r;

	args_prepare(&argc, &argv, COMMON_SHORTOPTS, opts);
	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, opts,
				  NULL)) != -1)
		if ((r = common_opt(opt, argv[0])) >= 0)
			return r;
	if (argc - optind != 3)
		return usage_err("usage: ivshm ring TARGET PEER VECTOR");
	target = argv[optind];
	if (parse_uint("peer id", argv[optind + 1], 0, CLI_MAX_PEER,
		       &peer) ||
	    parse_uint("vector", argv[optind + 2], 0,
		       CLI_MAX_VECTORS - 1, &vector))
		return EX_USAGE_ERR;
	dev = open_target(target);
	if (!dev)
		return EX_FAIL;
	r = ivshm_ring(dev, peer, vector);
	ivshm_close(dev);
	if (r == -EOPNOTSUPP)
		return no_doorbells(target);
	if (r == -ENXIO) {
		err_errno(ENXIO, "%s: peer %u has no vector %u (not connected, or fewer vectors)",
			target, peer, vector);
		return EX_FAIL;
	}
	if (r < 0)
		return fail_errno(r, "%s: cannot ring peer %u vector %u",
				  target, peer, vector);
	if (cli.json) {
		json_obj_begin();
		json_key("peer");
		json_u64(peer);
		json_key("vector");
		json_u64(vector);
		json_obj_end();
		json_end();
	}
	return EX_OK;
}

int cmd_wait(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	struct ivshm_fired *ev = NULL;
	struct ivshm_dev *dev;
	unsigned int vector = 0;
	bool any = true;
	const char *target;
	int opt, r, i, n, nvec, timeout = -1;

	args_prepare(&argc, &argv, COMMON_SHORTOPTS "t:", opts);
	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS "t:", opts,
				  NULL)) != -1) {
		if (opt == 't') {
			if (parse_timeout(optarg, &timeout))
				return EX_USAGE_ERR;
			continue;
		}
		if ((r = common_opt(opt, argv[0])) >= 0)
			return r;
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_err("usage: ivshm wait TARGET [VECTOR] [--timeout MS]");
	target = argv[optind];
	if (argc - optind == 2) {
		if (parse_uint("vector", argv[optind + 1], 0,
			       CLI_MAX_VECTORS - 1, &vector))
			return EX_USAGE_ERR;
		any = false;
	}
	dev = open_target(target);
	if (!dev)
		return EX_FAIL;
	nvec = ivshm_vectors(dev);
	if (nvec <= 0) {
		ivshm_close(dev);
		return no_doorbells(target);
	}
	if (!any && vector >= (unsigned int)nvec) {
		err_errno(ERANGE, "%s: vector %u out of range (this peer has %d)",
			target, vector, nvec);
		ivshm_close(dev);
		return EX_FAIL;
	}
	ev = calloc(nvec, sizeof(*ev));
	if (!ev) {
		ivshm_close(dev);
		return fail_errno(ENOMEM, "wait");
	}
	if (any) {
		ev[0].size = sizeof(ev[0]);
		n = ivshm_wait_any(dev, ev, nvec, timeout);
	} else {
		r = ivshm_wait(dev, vector, timeout);
		n = r < 0 ? r : 1;
		ev[0].vector = vector;
		ev[0].count = r < 0 ? 0 : (uint64_t)r;
	}
	ivshm_close(dev);
	if (n == -ETIMEDOUT) {
		free(ev);
		err_errno(ETIMEDOUT, "%s: timed out after %d ms", target, timeout);
		return EX_TIMEOUT;
	}
	if (n == -EOPNOTSUPP) {
		free(ev);
		return no_doorbells(target);
	}
	if (n == -ENXIO) {
		free(ev);
		err_errno(ENXIO, "%s: the device has no working interrupts (MSI-X could not be enabled)",
			target);
		return EX_FAIL;
	}
	if (n < 0) {
		free(ev);
		return fail_errno(n, "%s: wait", target);
	}
	if (cli.json) {
		json_obj_begin();
		json_key("fired");
		json_arr_begin();
		for (i = 0; i < n; i++) {
			json_obj_begin();
			json_key("vector");
			json_u64(ev[i].vector);
			json_key("count");
			json_u64(ev[i].count);
			json_obj_end();
		}
		json_arr_end();
		json_obj_end();
		json_end();
	} else {
		for (i = 0; i < n; i++)
			printf("vector %u: %llu\n", ev[i].vector,
			       (unsigned long long)ev[i].count);
	}
	free(ev);
	return EX_OK;
}

/*
 * The region's peer directory (names registered with ivshm_peer_register),
 * into @pi[IVSHM_PEER_MAX]; 0 entries if the memory holds no ring region.
 */
static int peer_dir(struct ivshm_dev *dev, struct ivshm_peer_info *pi)
{
	struct ivshm_region *reg;
	int n;

	reg = ivshm_region_open(ivshm_base(dev), ivshm_size(dev));
	if (!reg)
		return 0;
	pi[0].size = sizeof(pi[0]);
	n = ivshm_peer_list(reg, pi, IVSHM_PEER_MAX);
	ivshm_region_close(reg);
	return n < 0 ? 0 : n > IVSHM_PEER_MAX ? IVSHM_PEER_MAX : n;
}

static const char *name_of(const struct ivshm_peer_info *pi, int n,
			   unsigned int id)
{
	int i;

	for (i = 0; i < n; i++)
		if (pi[i].peer_id == id)
			return pi[i].name;
	return NULL;
}

int cmd_peers(int argc, char **argv)
{
	struct ivshm_peer_info pi[IVSHM_PEER_MAX];
	const char *name;
	int nd;
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ivshm_dev *dev;
	const char *target;
	uint16_t *ids;
	int opt, r, i, n;

	args_prepare(&argc, &argv, COMMON_SHORTOPTS, opts);
	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, opts,
				  NULL)) != -1)
		if ((r = common_opt(opt, argv[0])) >= 0)
			return r;
	if (argc - optind != 1)
		return usage_err("usage: ivshm peers TARGET");
	target = argv[optind];
	if (strcmp(backend_of(target), "unix")) {
		err_errno(EOPNOTSUPP, "%s: peers are known on unix: targets only (a guest device does not tell)",
			target);
		return EX_FAIL;
	}
	dev = open_target(target);
	if (!dev)
		return EX_FAIL;
	ivshm_process_events(dev, 0);	/* catch up with the server */
	n = ivshm_peers(dev, NULL, 0);
	if (n < 0) {
		ivshm_close(dev);
		return fail_errno(n, "%s: peers", target);
	}
	ids = calloc(n + 1, sizeof(*ids));
	if (!ids) {
		ivshm_close(dev);
		return fail_errno(ENOMEM, "peers");
	}
	r = ivshm_peers(dev, ids, n);
	if (r < n)
		n = r;	/* a negative errno, or fewer peers now */
	if (n < 0) {
		free(ids);
		ivshm_close(dev);
		return fail_errno(n, "%s: peers", target);
	}
	nd = peer_dir(dev, pi);
	if (cli.json) {
		json_obj_begin();
		json_key("self");
		json_i64(ivshm_peer_id(dev));
		json_key("vectors");
		json_i64(ivshm_vectors(dev));
		json_key("peers");
		json_arr_begin();
		for (i = 0; i < n; i++)
			json_u64(ids[i]);
		json_arr_end();
		/* every name registered in the region, connected or not */
		json_key("names");
		json_arr_begin();
		for (i = 0; i < nd; i++) {
			json_obj_begin();
			json_key("name");
			json_str(pi[i].name);
			json_key("id");
			json_u64(pi[i].peer_id);
			json_key("boot");
			json_u64(pi[i].boot);
			json_key("heartbeat");
			json_u64(pi[i].heartbeat);
			json_obj_end();
		}
		json_arr_end();
		json_obj_end();
		json_end();
	} else {
		/* the id, and its registered name if it has one */
		for (i = 0; i < n; i++) {
			name = name_of(pi, nd, ids[i]);
			printf(name ? "%u\t%s\n" : "%u\n", ids[i], name);
		}
	}
	free(ids);
	ivshm_close(dev);
	return EX_OK;
}
