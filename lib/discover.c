// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libivshm device discovery through libudev: the "ivshm" class devices,
 * their attributes, parent PCI address and stable names (devlinks).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libudev.h>

#include "ivshm.h"
#include "keep_errno.h"
#include "sized.h"
#include "backend.h"

_Static_assert(sizeof(struct ivshm_devinfo) == IVSHM_DEVINFO_SIZE_V1, "V1");

/*
 * What ivshm_list() hands out: the caller's array, laid out with the
 * caller's entry size, behind a header that keeps the library's own
 * entries (they own the strings, some of which an older caller's shorter
 * entries may not even point to).
 */
struct list_block {
	struct ivshm_devinfo *full;	/* n + 1 entries, the last zeroed */
	max_align_t entries[];		/* the caller's array */
};

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

static void full_free(struct ivshm_devinfo *full)
{
	struct ivshm_devinfo *d;

	if (!full)
		return;
	for (d = full; d->name; d++)
		info_free(d);
	free(full);
}

IVSHM_EXPORT void ivshm_list_free(struct ivshm_devinfo *list)
{
	struct list_block *b;

	if (!list)
		return;
	b = (struct list_block *)((char *)list -
				  offsetof(struct list_block, entries));
	full_free(b->full);
	free(b);
}

/* The caller's copy of the @n entries of @full, @stride bytes each. */
static struct ivshm_devinfo *list_export(struct ivshm_devinfo *full,
					 size_t n, size_t stride)
{
	struct list_block *b;
	size_t i;

	b = calloc(1, sizeof(*b) + (n + 1) * stride);
	if (!b)
		return NULL;
	b->full = full;
	for (i = 0; i < n; i++)
		sized_copy((char *)b->entries + i * stride, (uint32_t)stride,
			   &full[i], sizeof(full[i]));
	return (struct ivshm_devinfo *)b->entries;
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
	d->mem_size = v ? strtoull(v, NULL, 10) : 0;
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

IVSHM_EXPORT int ivshm_list(struct ivshm_devinfo **list, size_t entry_size)
{
	struct udev_enumerate *en = NULL;
	struct ivshm_devinfo *out = NULL, *nout;
	struct udev_list_entry *e;
	struct udev *udev;
	size_t n = 0;
	int ret;
	KEEP_ERRNO;

	if (!list || entry_size < IVSHM_DEVINFO_SIZE_V1 ||
	    entry_size > UINT32_MAX || entry_size % sizeof(void *))
		return -EINVAL;
	*list = NULL;
	errno = 0;
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
		out[n].size = sizeof(*out);
		ret = fill(&out[n], u);
		udev_device_unref(u);
		if (ret < 0) {
			info_free(&out[n]);
			goto out;
		}
		n++;
	}
	qsort(out, n, sizeof(*out), cmp_info);
	*list = list_export(out, n, entry_size);
	if (!*list) {
		ret = -ENOMEM;
		goto out;
	}
	out = NULL;
	ret = (int)n;
out:
	full_free(out);
	udev_enumerate_unref(en);
	udev_unref(udev);
	return ret;
}
