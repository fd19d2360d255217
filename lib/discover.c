// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libivshm device discovery through libudev: the "ivshm" class devices,
 * their attributes, parent PCI address and stable names (devlinks).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libudev.h>

#include "ivshm.h"
#include "backend.h"

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void info_free(struct ivshm_devinfo *d)
{
	const char *const *l;

	free((char *)d->name);
	free((char *)d->node);
	free((char *)d->pci);
	free((char *)d->mode);
	free((char *)d->irq_mode);
	if (d->links) {
		for (l = d->links; *l; l++)
			free((char *)*l);
		free((void *)d->links);
	}
	memset(d, 0, sizeof(*d));
}

IVSHM_EXPORT void ivshm_list_free(struct ivshm_devinfo *list)
{
	struct ivshm_devinfo *d;

	if (!list)
		return;
	for (d = list; d->name; d++)
		info_free(d);
	free(list);
}

static int fill(struct ivshm_devinfo *d, struct udev_device *u)
{
	struct udev_list_entry *e;
	struct udev_device *pci;
	const char *v;
	size_t n = 0, i = 0;
	char **links;

	d->peer_id = -1;
	d->name = strdup(udev_device_get_sysname(u));
	if (!d->name)
		return -ENOMEM;
	d->node = dup_or_null(udev_device_get_devnode(u));
	v = udev_device_get_sysattr_value(u, "mode");
	d->mode = dup_or_null(v ? v : "unknown");
	v = udev_device_get_sysattr_value(u, "irq_mode");
	d->irq_mode = dup_or_null(v ? v : "unknown");
	v = udev_device_get_sysattr_value(u, "size");
	d->size = v ? strtoull(v, NULL, 10) : 0;
	v = udev_device_get_sysattr_value(u, "peer_id");
	d->peer_id = v ? atoi(v) : -1;
	v = udev_device_get_sysattr_value(u, "vectors");
	d->vectors = v ? (unsigned int)strtoul(v, NULL, 10) : 0;
	pci = udev_device_get_parent_with_subsystem_devtype(u, "pci", NULL);
	if (pci)
		d->pci = dup_or_null(udev_device_get_sysname(pci));
	udev_list_entry_foreach(e, udev_device_get_devlinks_list_entry(u))
		n++;
	links = calloc(n + 1, sizeof(*links));
	if (!links)
		return -ENOMEM;
	d->links = (const char *const *)links;
	udev_list_entry_foreach(e, udev_device_get_devlinks_list_entry(u)) {
		if (i == n)
			break;
		links[i] = strdup(udev_list_entry_get_name(e));
		if (!links[i])
			return -ENOMEM;
		i++;
	}
	if (!d->mode || !d->irq_mode || (pci && !d->pci) ||
	    (udev_device_get_devnode(u) && !d->node))
		return -ENOMEM;
	return 0;
}

/* "ivshm2" before "ivshm10". */
static int cmp_info(const void *a, const void *b)
{
	const char *x = ((const struct ivshm_devinfo *)a)->name;
	const char *y = ((const struct ivshm_devinfo *)b)->name;
	size_t lx = strlen(x), ly = strlen(y);

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x, y);
}

IVSHM_EXPORT int ivshm_list(struct ivshm_devinfo **list)
{
	struct udev_enumerate *en = NULL;
	struct ivshm_devinfo *out = NULL, *nout;
	struct udev_list_entry *e;
	struct udev *udev;
	size_t n = 0;
	int ret;

	if (!list) {
		errno = EINVAL;
		return -EINVAL;
	}
	*list = NULL;
	udev = udev_new();
	if (!udev) {
		ret = errno ? -errno : -ENOMEM;
		goto out;
	}
	en = udev_enumerate_new(udev);
	if (!en) {
		ret = -ENOMEM;
		goto out;
	}
	ret = udev_enumerate_add_match_subsystem(en, "ivshm");
	if (ret >= 0)
		ret = udev_enumerate_scan_devices(en);
	if (ret < 0)
		goto out;
	out = calloc(1, sizeof(*out));
	if (!out) {
		ret = -ENOMEM;
		goto out;
	}
	udev_list_entry_foreach(e, udev_enumerate_get_list_entry(en)) {
		struct udev_device *u;

		u = udev_device_new_from_syspath(udev,
						 udev_list_entry_get_name(e));
		if (!u)
			continue;	/* gone meanwhile */
		nout = realloc(out, (n + 2) * sizeof(*out));
		if (!nout) {
			udev_device_unref(u);
			ret = -ENOMEM;
			goto out;
		}
		out = nout;
		memset(&out[n], 0, 2 * sizeof(*out));
		ret = fill(&out[n], u);
		udev_device_unref(u);
		if (ret < 0) {
			info_free(&out[n]);
			goto out;
		}
		n++;
	}
	qsort(out, n, sizeof(*out), cmp_info);
	*list = out;
	out = NULL;
	ret = (int)n;
out:
	ivshm_list_free(out);
	udev_enumerate_unref(en);
	udev_unref(udev);
	if (ret < 0)
		errno = -ret;
	return ret;
}
