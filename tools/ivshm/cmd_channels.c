// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm channels: the ring region's channel table and each channel's state.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char *state_name(uint32_t st)
{
	switch (st) {
	case IVSHM_CHAN_STATE_INIT:
		return "creating";
	case IVSHM_CHAN_STATE_READY:
		return "ready";
	default:
		return "corrupt";
	}
}

static const char *side(uint32_t flags, uint32_t attached, uint32_t left)
{
	if (flags & attached)
		return "attached";
	if (flags & left)
		return "detached";
	return "never";
}

struct ivshm_region *open_region(struct ivshm_dev *dev, const char *target,
				 bool format)
{
	struct ivshm_region *r;

	r = ivshm_region_open(ivshm_base(dev), ivshm_size(dev));
	if (!r && errno == EAGAIN && format)
		r = ivshm_region_format(ivshm_base(dev), ivshm_size(dev));
	if (r)
		return r;
	switch (errno) {
	case EAGAIN:
		err_errno(EAGAIN, "%s: no ring region: the memory is not formatted%s",
			target, format ? "" :
			" (send or recv --format formats it)");
		break;
	case EPROTO:
		err_errno(EPROTO, "%s: the ring region header is invalid: %s", target,
			strerror(errno));
		break;
	case EPROTONOSUPPORT:
		err_errno(EPROTONOSUPPORT, "%s: the ring region uses another layout version: %s",
			target, strerror(errno));
		break;
	default:
		err_errno(errno, "%s: cannot open the ring region: %s", target,
			strerror(errno));
		break;
	}
	return NULL;
}

int cmd_channels(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ivshm_chan_info ci[IVSHM_CHAN_MAX];
	const struct ivshm_chan_info *c;
	struct ivshm_region *reg;
	struct ivshm_dev *dev;
	const char *target;
	ssize_t avail;
	int opt, r, i, n;
	char sz[32];

	args_prepare(&argc, &argv, COMMON_SHORTOPTS, opts);
	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, opts,
				  NULL)) != -1)
		if ((r = common_opt(opt, argv[0])) >= 0)
			return r;
	if (argc - optind != 1)
		return usage_err("usage: ivshm channels TARGET");
	target = argv[optind];
	dev = open_target(target);
	if (!dev)
		return EX_FAIL;
	reg = open_region(dev, target, false);
	if (!reg) {
		ivshm_close(dev);
		return EX_FAIL;
	}
	ci[0].size = sizeof(ci[0]);
	n = ivshm_region_channels(reg, ci, IVSHM_CHAN_MAX);
	avail = ivshm_region_avail(reg);
	ivshm_region_close(reg);
	if (n < 0 || avail < 0) {
		ivshm_close(dev);
		return fail_errno(n < 0 ? n : (int)avail, "%s: channels",
				  target);
	}
	if (n > IVSHM_CHAN_MAX)
		n = IVSHM_CHAN_MAX;

	if (cli.json) {
		json_obj_begin();
		json_key("free");
		json_i64(avail);
		json_key("channels");
		json_arr_begin();
		for (i = 0, c = ci; i < n; i++, c++) {
			json_obj_begin();
			json_key("slot");
			json_u64(c->slot);
			json_key("name");
			json_str(c->name);
			json_key("state");
			json_str(state_name(c->state));
			json_key("generation");
			json_u64(c->generation);
			if (c->state == IVSHM_CHAN_STATE_READY) {
				json_key("offset");
				json_u64(c->offset);
				json_key("ring_size");
				json_u64(c->ring_size);
				json_key("max_msg");
				json_u64(c->max_msg);
				json_key("queued");
				json_u64(c->queued);
				json_key("producer");
				json_str(side(c->flags,
					      IVSHM_CHAN_INFO_PRODUCER,
					      IVSHM_CHAN_INFO_PRODUCER_LEFT));
				json_key("consumer");
				json_str(side(c->flags,
					      IVSHM_CHAN_INFO_CONSUMER,
					      IVSHM_CHAN_INFO_CONSUMER_LEFT));
			}
			json_obj_end();
		}
		json_arr_end();
		json_obj_end();
		json_end();
	} else {
		if (n)
			printf("%-4s %-31s %-8s %9s %9s %9s %-9s %s\n",
			       "SLOT", "NAME", "STATE", "RING", "MAXMSG",
			       "QUEUED", "PRODUCER", "CONSUMER");
		for (i = 0, c = ci; i < n; i++, c++) {
			char name[IVSHM_CHAN_NAME_MAX];
			unsigned int k;

			/* names come from shared memory: show them safely */
			for (k = 0; c->name[k]; k++)
				name[k] = c->name[k] >= 0x20 &&
					  c->name[k] < 0x7f ? c->name[k] : '?';
			name[k] = '\0';
			if (c->state != IVSHM_CHAN_STATE_READY) {
				printf("%-4u %-31s %-8s %9s %9s %9s %-9s %s\n",
				       c->slot, *name ? name : "-",
				       state_name(c->state), "-", "-", "-",
				       "-", "-");
				continue;
			}
			printf("%-4u %-31s %-8s %9llu %9llu %9llu %-9s %s\n",
			       c->slot, name, state_name(c->state),
			       (unsigned long long)c->ring_size,
			       (unsigned long long)c->max_msg,
			       (unsigned long long)c->queued,
			       side(c->flags, IVSHM_CHAN_INFO_PRODUCER,
				    IVSHM_CHAN_INFO_PRODUCER_LEFT),
			       side(c->flags, IVSHM_CHAN_INFO_CONSUMER,
				    IVSHM_CHAN_INFO_CONSUMER_LEFT));
		}
		printf("%d channel%s, %s free\n", n, n == 1 ? "" : "s",
		       human_size((uint64_t)avail, sz, sizeof(sz)));
	}
	ivshm_close(dev);
	return EX_OK;
}
