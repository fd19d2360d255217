// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm: exporting a range of BAR2 as a dma-buf (IVSHM_EXPORT_DMABUF), so
 * that other drivers can import the shared memory (a GPU driver taking a
 * frame, as Looking Glass does with kvmfr) and user space can pass it on.
 *
 * An export holds three things, each for its own reason:
 *  - BAR2's struct pages (pages.c): an importer's scatterlist points at
 *    them from map_dma_buf until it unmaps, which may be after remove, so
 *    they stay until the export is released.  Exports need the pages:
 *    importers may walk sg_page(), which raw PFNs do not have.
 *  - A file on the device's address_space (ivshm_map_file): mmap of the
 *    dma-buf, by user space or through an importer (dma_buf_mmap), makes
 *    it the mapping's vm_file, so remove's zap of that address_space
 *    revokes these mappings exactly as it does the device node's.  The
 *    file holds the device in memory, for as long as any mapping does.
 *  - Nothing of the device node's file: closing it leaves the export.
 *
 * Liveness: export and map_dma_buf act only inside a liveness read section
 * that found the device alive; mmap checks it as the device node's does.
 * Remove marks the device dead, waits for the read sections, zaps, and
 * drops the device's reference on the pages; the last export's release
 * drops the last.  Attachments mapped before remove are not revoked: a
 * static importer cannot be told, and its scatterlist stays valid.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/file.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "ivshm.h"

MODULE_IMPORT_NS(DMA_BUF);

/* Longest scatterlist entry: sg->length is 32 bits, keep it page-aligned. */
#define IVSHM_SG_MAX		SZ_1G

struct ivshm_export {
	struct ivshm_device *idev;	/* held by @map_file */
	struct file *map_file;		/* see the comment at the top */
	struct dev_pagemap *pgmap;	/* a reference on BAR2's pages */
	pgoff_t pgoff;			/* first page, in BAR2 */
	unsigned long npages;
};

static struct sg_table *ivshm_dmabuf_map(struct dma_buf_attachment *at,
					 enum dma_data_direction dir)
{
	struct ivshm_export *ex = at->dmabuf->priv;
	struct ivshm_device *idev = ex->idev;
	unsigned long pfn = PHYS_PFN(idev->shm_phys) + ex->pgoff;
	u64 left = (u64)ex->npages << PAGE_SHIFT;
	struct scatterlist *sg;
	struct sg_table *sgt;
	int ret, idx;
	unsigned int i;

	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, DIV_ROUND_UP_ULL(left, IVSHM_SG_MAX),
			     GFP_KERNEL);
	if (ret)
		goto err_free;
	/* The memmap of a ZONE_DEVICE range is virtually contiguous. */
	for_each_sgtable_sg(sgt, sg, i) {
		unsigned int len = min_t(u64, left, IVSHM_SG_MAX);

		sg_set_page(sg, pfn_to_page(pfn), len, 0);
		pfn += len >> PAGE_SHIFT;
		left -= len;
	}

	idx = srcu_read_lock(&idev->srcu);
	ret = ivshm_alive(idev) ? dma_map_sgtable(at->dev, sgt, dir, 0) :
				  -ENODEV;
	srcu_read_unlock(&idev->srcu, idx);
	if (ret)
		goto err_table;
	return sgt;

err_table:
	sg_free_table(sgt);
err_free:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void ivshm_dmabuf_unmap(struct dma_buf_attachment *at,
			       struct sg_table *sgt,
			       enum dma_data_direction dir)
{
	dma_unmap_sgtable(at->dev, sgt, dir, 0);
	sg_free_table(sgt);
	kfree(sgt);
}

/* vm_pgoff is relative to the dma-buf; the range check is dma-buf's too. */
static int ivshm_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct ivshm_export *ex = dmabuf->priv;
	int ret;

	if (vma->vm_pgoff >= ex->npages ||
	    vma_pages(vma) > ex->npages - vma->vm_pgoff)
		return -EINVAL;
	vma->vm_pgoff += ex->pgoff;
	ret = ivshm_mmap_vma(ex->idev, vma);
	if (ret)
		return ret;
	vma_set_file(vma, ex->map_file);
	return 0;
}

static void ivshm_dmabuf_release(struct dma_buf *dmabuf)
{
	struct ivshm_export *ex = dmabuf->priv;

	ivshm_pages_put(ex->pgmap);
	fput(ex->map_file);
	kfree(ex);
}

static const struct dma_buf_ops ivshm_dmabuf_ops = {
	.map_dma_buf = ivshm_dmabuf_map,
	.unmap_dma_buf = ivshm_dmabuf_unmap,
	.mmap = ivshm_dmabuf_mmap,
	.release = ivshm_dmabuf_release,
};

/*
 * Exports [pgoff, pgoff + npages) of BAR2 (checked by the caller) and
 * returns the dma-buf's new fd.
 */
int ivshm_dmabuf_export(struct ivshm_device *idev, pgoff_t pgoff,
			unsigned long npages, bool cloexec)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct ivshm_export *ex;
	struct dma_buf *dmabuf;
	int ret = 0, idx, fd;

	ex = kzalloc(sizeof(*ex), GFP_KERNEL);
	if (!ex)
		return -ENOMEM;
	ex->idev = idev;
	ex->pgoff = pgoff;
	ex->npages = npages;

	/* Remove waits for this section before it drops the device's ref. */
	idx = srcu_read_lock(&idev->srcu);
	if (ivshm_alive(idev)) {
		ex->pgmap = ivshm_pages_get(idev);
		if (!ex->pgmap)
			ret = -EOPNOTSUPP;
	} else {
		ret = -ENODEV;
	}
	srcu_read_unlock(&idev->srcu, idx);
	if (ret)
		goto err_free;

	ex->map_file = ivshm_map_file(idev);
	if (IS_ERR(ex->map_file)) {
		ret = PTR_ERR(ex->map_file);
		goto err_pages;
	}

	info.exp_name = KBUILD_MODNAME;
	info.owner = THIS_MODULE;
	info.ops = &ivshm_dmabuf_ops;
	info.size = (size_t)npages << PAGE_SHIFT;
	info.flags = O_RDWR;
	info.priv = ex;
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto err_file;
	}
	/* From here the dma-buf's release frees @ex. */
	fd = dma_buf_fd(dmabuf, cloexec ? O_CLOEXEC : 0);
	if (fd < 0)
		dma_buf_put(dmabuf);
	return fd;

err_file:
	fput(ex->map_file);
err_pages:
	ivshm_pages_put(ex->pgmap);
err_free:
	kfree(ex);
	return ret;
}
