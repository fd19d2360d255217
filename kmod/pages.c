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
 * or the last unpin would write to a freed memmap, so the pages are torn
 * down only when none is referenced, and otherwise left (with the range)
 * in place for good, with a warning.  Exported dma-bufs hold the pages
 * too (ivshm_pages_get), so that teardown waits for the last of them.
 */
#include <linux/kref.h>
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
/*
 * The pages live until the device is removed and every dma-buf exported
 * from them (dmabuf.c) is released: an importer's scatterlist points at
 * them until it unmaps its attachment, which may be long after remove.
 */
struct ivshm_pages {
	struct dev_pagemap pgmap;
	struct kref ref;		/* the device's, one per export */
};

int ivshm_pages_add(struct ivshm_device *idev)
{
	struct device *dev = &idev->pdev->dev;
	struct ivshm_pages *p;
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

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	kref_init(&p->ref);
	pgmap = &p->pgmap;
	pgmap->type = MEMORY_DEVICE_GENERIC;
	pgmap->range.start = idev->shm_phys;
	pgmap->range.end = idev->shm_phys + idev->shm_size - 1;
	pgmap->nr_range = 1;
	addr = memremap_pages(pgmap, dev_to_node(dev));
	if (IS_ERR(addr)) {
		kfree(p);
		return PTR_ERR(addr);
	}
	idev->pgmap = pgmap;
	idev->shm_kaddr = addr;
	return 0;
}

/*
 * The last reference: every user mapping is zapped and every export gone.
 * A generic ZONE_DEVICE page holds one reference of its own; any other is
 * a pin or a page being unmapped.
 */
static void ivshm_pages_release(struct kref *ref)
{
	struct ivshm_pages *p = container_of(ref, struct ivshm_pages, ref);
	struct range *r = &p->pgmap.range;
	unsigned long pfn, busy = 0;

	for (pfn = PHYS_PFN(r->start); pfn <= PHYS_PFN(r->end); pfn++)
		busy += page_ref_count(pfn_to_page(pfn)) != 1;
	if (busy) {
		pr_warn("ivshm: %lu pages of a removed BAR2 at %#llx are still referenced (pinned I/O): keeping their struct pages, the range stays reserved\n",
			busy, r->start);
		return;
	}
	memunmap_pages(&p->pgmap);
	kfree(p);
}

/* Inside a liveness read section that found the device alive. */
struct dev_pagemap *ivshm_pages_get(struct ivshm_device *idev)
{
	struct ivshm_pages *p;

	if (!idev->pgmap)
		return NULL;
	p = container_of(idev->pgmap, struct ivshm_pages, pgmap);
	kref_get(&p->ref);
	return idev->pgmap;
}

void ivshm_pages_put(struct dev_pagemap *pgmap)
{
	kref_put(&container_of(pgmap, struct ivshm_pages, pgmap)->ref,
		 ivshm_pages_release);
}

/* After every user mapping is zapped. */
void ivshm_pages_remove(struct ivshm_device *idev)
{
	struct dev_pagemap *pgmap = idev->pgmap;

	if (!pgmap)
		return;
	idev->pgmap = NULL;
	idev->shm_kaddr = NULL;
	ivshm_pages_put(pgmap);
}
#else
int ivshm_pages_add(struct ivshm_device *idev)
{
	return struct_pages ? -EOPNOTSUPP : -EPERM;
}

struct dev_pagemap *ivshm_pages_get(struct ivshm_device *idev)
{
	return NULL;
}

void ivshm_pages_put(struct dev_pagemap *pgmap)
{
}

void ivshm_pages_remove(struct ivshm_device *idev)
{
}
#endif
