// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm: struct pages for BAR2, so that user mappings of the shared memory
 * are ordinary pages the rest of the kernel can pin (O_DIRECT, io_uring
 * fixed buffers, process_vm_readv), as with Looking Glass's kvmfr.
 *
 * BAR2 becomes ZONE_DEVICE memory of type MEMORY_DEVICE_GENERIC: the memory
 * hotplug code gives it a memmap and a write-back linear mapping, which
 * also holds BAR2's write-back memory type reservation for the device's
 * lifetime.  When that cannot be done (no ZONE_DEVICE, a BAR2 that is not
 * aligned to a memory subsection, a range that still has pages from an
 * earlier device), mappings fall back to raw PFNs, which nothing can pin.
 *
 * A memmap costs guest RAM, 64 bytes per 4 KiB page (16 MiB per GiB of
 * BAR2, 128 MiB for an 8 GiB one), and time at every probe and remove, so
 * it is asked for with the module parameter struct_pages.
 *
 * Pins outlive mappings: a pinned page stays referenced after remove has
 * zapped every user mapping.  Its struct page must then outlive the device,
 * or the last unpin would write to a freed memmap, so remove tears the
 * pages down only when none is referenced, and otherwise leaves them (and
 * the range) in place for good, with a warning.
 */
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/slab.h>

#include "ivshm.h"

static bool struct_pages;
module_param(struct_pages, bool, 0444);
MODULE_PARM_DESC(struct_pages,
		 "Give BAR2 struct pages, so that its mappings can be pinned for I/O (O_DIRECT, io_uring); costs 16 MiB of RAM per GiB of BAR2 (default: off)");

#if IS_ENABLED(CONFIG_ZONE_DEVICE)
int ivshm_pages_add(struct ivshm_device *idev)
{
	struct device *dev = &idev->pdev->dev;
	struct dev_pagemap *pgmap;
	void *addr;

	if (!struct_pages)
		return -EPERM;
	if (!IS_ALIGNED(idev->shm_phys | idev->shm_size, SUBSECTION_SIZE))
		return -EINVAL;
	/* memremap_pages() would WARN about a range that still has pages. */
	pgmap = get_dev_pagemap(PHYS_PFN(idev->shm_phys), NULL);
	if (pgmap) {
		put_dev_pagemap(pgmap);
		return -EBUSY;
	}

	pgmap = kzalloc(sizeof(*pgmap), GFP_KERNEL);
	if (!pgmap)
		return -ENOMEM;
	pgmap->type = MEMORY_DEVICE_GENERIC;
	pgmap->range.start = idev->shm_phys;
	pgmap->range.end = idev->shm_phys + idev->shm_size - 1;
	pgmap->nr_range = 1;
	addr = memremap_pages(pgmap, dev_to_node(dev));
	if (IS_ERR(addr)) {
		kfree(pgmap);
		return PTR_ERR(addr);
	}
	idev->pgmap = pgmap;
	idev->shm_kaddr = addr;
	return 0;
}

/*
 * After every user mapping is zapped.  A generic ZONE_DEVICE page holds one
 * reference of its own; any other is a pin or a page being unmapped.
 */
void ivshm_pages_remove(struct ivshm_device *idev)
{
	unsigned long pfn = PHYS_PFN(idev->shm_phys);
	unsigned long n = idev->shm_size >> PAGE_SHIFT, i, busy = 0;

	if (!idev->pgmap)
		return;
	for (i = 0; i < n; i++)
		busy += page_ref_count(pfn_to_page(pfn + i)) != 1;
	if (busy) {
		dev_warn(&idev->pdev->dev,
			 "%lu pages of BAR2 are still referenced (pinned I/O): keeping their struct pages, the range stays reserved\n",
			 busy);
	} else {
		memunmap_pages(idev->pgmap);
		kfree(idev->pgmap);
	}
	idev->pgmap = NULL;
	idev->shm_kaddr = NULL;
}
#else
int ivshm_pages_add(struct ivshm_device *idev)
{
	return struct_pages ? -EOPNOTSUPP : -EPERM;
}

void ivshm_pages_remove(struct ivshm_device *idev)
{
}
#endif
