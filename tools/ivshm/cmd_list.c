// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm list: the guest's ivshm devices (libudev).
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static void list_json(const struct ivshm_devinfo *d, int n)
{
	const char *const *l;
	int i;

	json_arr_begin();
	for (i = 0; i < n; i++, d++) {
		json_obj_begin();
		json_key("name");
		json_str(d->name);
		json_key("node");
		json_str(d->node);
		json_key("pci");
		json_str(d->pci);
		json_key("size");
		json_u64(d->mem_size);
		json_key("mode");
		json_str(d->mode);
		json_key("irq_mode");
		json_str(d->irq_mode);
		json_key("peer_id");
		if (d->peer_id >= 0)
			json_i64(d->peer_id);
		else
			json_null();
		json_key("vectors");
		json_u64(d->vectors);
		json_key("links");
		json_arr_begin();
		for (l = d->links; l && *l; l++)
			json_str(*l);
		json_arr_end();
		json_obj_end();
	}
	json_arr_end();
	json_end();
}

static void list_text(const struct ivshm_devinfo *d, int n)
{
	const char *const *l;
	char sz[32], peer[16];
	int i;

	if (!n)
		return;
	printf("%-12s %-13s %10s %-8s %-4s %5s %7s  %s\n", "NODE", "PCI",
	       "SIZE", "MODE", "IRQ", "PEER", "VECTORS", "LINKS");
	for (i = 0; i < n; i++, d++) {
		if (d->peer_id >= 0)
			snprintf(peer, sizeof(peer), "%d", d->peer_id);
		else
			snprintf(peer, sizeof(peer), "-");
		printf("%-12s %-13s %10s %-8s %-4s %5s %7u ",
		       d->node ? d->node : d->name, d->pci ? d->pci : "-",
		       human_size(d->mem_size, sz, sizeof(sz)),
		       d->mode ? d->mode : "-",
		       d->irq_mode ? d->irq_mode : "-", peer, d->vectors);
		if (!d->links || !d->links[0])
			printf(" -");
		for (l = d->links; l && *l; l++)
			printf(" %s", *l);
		putchar('\n');
	}
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct ivshm_devinfo *list = NULL;
	int opt, r, n;

	args_prepare(&argc, &argv, COMMON_SHORTOPTS, opts);
	while ((opt = getopt_long(argc, argv, COMMON_SHORTOPTS, opts,
				  NULL)) != -1)
		if ((r = common_opt(opt, argv[0])) >= 0)
			return r;
	if (optind != argc)
		return usage_err("list takes no arguments");
	n = ivshm_list(&list, sizeof(*list));
	if (n < 0)
		return fail_errno(n, "cannot list devices");
	if (cli.json)
		list_json(list, n);
	else
		list_text(list, n);
	ivshm_list_free(list);
	return EX_OK;
}
