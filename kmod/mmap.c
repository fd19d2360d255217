// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm: mapping BAR2 (the shared memory) into user space, write-back
 * cached, populated at fault time so that remove can revoke it: as pages
 * when BAR2 has struct pages (pages.c), else as raw PFNs.
 *
 * Every open of a device shares one address_space (an anonymous inode of
 * a private pseudo file system), so remove finds every mapping of the
 * device, whichever device node it was opened through, and zaps it.  Pages
 * are only inserted by the fault handler inside a liveness read section
 * (srcu_read_lock) after checking that the device is alive; remove marks it
 * dead and waits for those sections to end before zapping, so no page can
 * be inserted after the zap.  Mappings of an exported dma-buf (dmabuf.c)
 * are made on a file of that same address_space (ivshm_map_file), so the
 * zap revokes them too.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pfn_t.h>
#include <linux/pseudo_fs.h>
#include <linux/sizes.h>

#include "ivshm.h"
#include "compat.h"

#define IVSHM_FS_MAGIC		0x6976736d	/* "ivsm" */

/* Pages inserted per fault: the naturally aligned 2 MiB around it. */
#define IVSHM_FAULT_AROUND	SZ_2M

static struct vfsmount *ivshm_mnt;
static int ivshm_mnt_count;

static int ivshm_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, IVSHM_FS_MAGIC) ? 0 : -ENOMEM;
}

/*
 * No .owner: a pinned mount would hold a reference on the module and make
 * it impossible to unload.  The mount only lives while devices exist, and
 * the module cannot be unloaded before they are all released.
 */
static struct file_system_type ivshm_fs_type = {
	.name = "ivshm",
	.init_fs_context = ivshm_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

int ivshm_inode_get(struct ivshm_device *idev)
{
	struct inode *inode;
	int ret;

	ret = simple_pin_fs(&ivshm_fs_type, &ivshm_mnt, &ivshm_mnt_count);
	if (ret)
		return ret;

	inode = alloc_anon_inode(ivshm_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		simple_release_fs(&ivshm_mnt, &ivshm_mnt_count);
		return PTR_ERR(inode);
	}
	idev->inode = inode;
	return 0;
}

void ivshm_inode_put(struct ivshm_device *idev)
{
	if (!idev->inode)
		return;
	iput(idev->inode);
	idev->inode = NULL;
	simple_release_fs(&ivshm_mnt, &ivshm_mnt_count);
}

void ivshm_revoke_mappings(struct ivshm_device *idev)
{
	unmap_mapping_range(idev->inode->i_mapping, 0, 0, 1);
}

/*
 * With struct pages (pages.c) a page is inserted as an ordinary page,
 * which GUP can pin; else as a raw PFN.  Zapping revokes either.
 */
static vm_fault_t ivshm_insert(struct ivshm_device *idev,
			       struct vm_area_struct *vma, unsigned long addr,
			       unsigned long pfn)
{
	int err;

	if (!idev->pgmap)
		return vmf_insert_pfn(vma, addr, pfn);
	err = vm_insert_page(vma, addr, pfn_to_page(pfn));
	if (!err || err == -EBUSY)	/* -EBUSY: already mapped */
		return VM_FAULT_NOPAGE;
	return err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
}

static vm_fault_t ivshm_vm_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct ivshm_device *idev = vma->vm_private_data;
	unsigned long start, end, addr, pfn;
	vm_fault_t ret = VM_FAULT_NOPAGE;
	int idx;

	idx = srcu_read_lock(&idev->srcu);
	if (!ivshm_alive(idev)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}

	/*
	 * Map the aligned block around the fault in one go: faulting a
	 * large region in page by page is needlessly slow.
	 */
	start = max(ALIGN_DOWN(vmf->address, IVSHM_FAULT_AROUND),
		    vma->vm_start);
	end = min(ALIGN_DOWN(vmf->address, IVSHM_FAULT_AROUND) +
		  IVSHM_FAULT_AROUND, vma->vm_end);
	pfn = PHYS_PFN(idev->shm_phys) + vma->vm_pgoff +
	      PHYS_PFN(start - vma->vm_start);

	for (addr = start; addr < end; addr += PAGE_SIZE, pfn++) {
		vm_fault_t r = ivshm_insert(idev, vma, addr, pfn);

		/* A page another thread mapped meanwhile is fine. */
		if (r & VM_FAULT_ERROR) {
			if (addr == (vmf->address & PAGE_MASK))
				ret = r;
			break;
		}
	}
	if (ret == VM_FAULT_NOPAGE)
		atomic64_inc(&idev->faults[IVSHM_FAULT_PTE]);
out:
	srcu_read_unlock(&idev->srcu, idx);
	return ret;
}

#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
static bool huge_mappings = true;
module_param(huge_mappings, bool, 0644);
MODULE_PARM_DESC(huge_mappings,
		 "Map BAR2 with 2 MiB and 1 GiB entries where the mapping and BAR2 are both aligned (default: on)");

/*
 * One 2 MiB (PMD) or 1 GiB (PUD) entry for an aligned block of BAR2: one
 * TLB entry instead of 512 or 262144.  Only for raw PFN mappings: these
 * kernels mark huge PFN entries special, so that GUP-fast and zapping
 * never look for struct pages there (6.1 has no such bit: it never calls
 * this).  Mappings with struct pages stay 4 KiB: a huge entry for
 * ZONE_DEVICE pages is a devmap entry, which GUP treats as DAX memory.
 * Anything else falls back to ivshm_vm_fault(); remove's zap takes huge
 * entries with the rest.
 */
static vm_fault_t ivshm_vm_huge_fault(struct vm_fault *vmf,
				      unsigned int order)
{
	struct vm_area_struct *vma = vmf->vma;
	struct ivshm_device *idev = vma->vm_private_data;
	unsigned long size = PAGE_SIZE << order;
	unsigned long addr = ALIGN_DOWN(vmf->address, size);
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	vm_fault_t ret = VM_FAULT_FALLBACK;
	phys_addr_t phys;
	pfn_t pfn;
	int idx;

	if (!READ_ONCE(huge_mappings) || idev->pgmap ||
	    addr < vma->vm_start || addr + size > vma->vm_end)
		return VM_FAULT_FALLBACK;
	phys = idev->shm_phys +
	       ((vma->vm_pgoff << PAGE_SHIFT) + (addr - vma->vm_start));
	if (!IS_ALIGNED(phys, size))
		return VM_FAULT_FALLBACK;
	pfn = __pfn_to_pfn_t(PHYS_PFN(phys), PFN_DEV);

	/* Faults are counted when they map (page tables can fail). */
	idx = srcu_read_lock(&idev->srcu);
	if (!ivshm_alive(idev)) {
		ret = VM_FAULT_SIGBUS;
	} else if (order == PMD_ORDER) {
		ret = vmf_insert_pfn_pmd(vmf, pfn, write);
		if (ret == VM_FAULT_NOPAGE)
			atomic64_inc(&idev->faults[IVSHM_FAULT_PMD]);
#ifdef CONFIG_ARCH_SUPPORTS_PUD_PFNMAP
	} else if (order == PUD_ORDER) {
		ret = vmf_insert_pfn_pud(vmf, pfn, write);
		if (ret == VM_FAULT_NOPAGE)
			atomic64_inc(&idev->faults[IVSHM_FAULT_PUD]);
#endif
	}
	srcu_read_unlock(&idev->srcu, idx);
	return ret;
}

/*
 * Place device mappings so that 2 MiB blocks of the mapping and of BAR2
 * coincide (BAR2 is aligned to its size): then every aligned block can
 * take a PMD entry.  1 GiB entries need a 1 GiB-aligned address, which
 * the caller chooses.
 */
unsigned long ivshm_get_unmapped_area(struct file *filp, unsigned long addr,
				      unsigned long len, unsigned long pgoff,
				      unsigned long flags)
{
	return thp_get_unmapped_area(filp, addr, len, pgoff, flags);
}
#endif

static const struct vm_operations_struct ivshm_vm_ops = {
	.fault = ivshm_vm_fault,
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
	.huge_fault = ivshm_vm_huge_fault,
#endif
};

/*
 * Sets up @vma, whose vm_pgoff is a page offset into BAR2, for the device
 * node's mmap and a dma-buf's.  The vma's file keeps @idev in memory.
 */
int ivshm_mmap_vma(struct ivshm_device *idev, struct vm_area_struct *vma)
{
	unsigned long npages = vma_pages(vma);
	u64 total = idev->shm_size >> PAGE_SHIFT;

	/* VM_MAYSHARE: a MAP_SHARED mapping of a read-only open lacks VM_SHARED. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff >= total || npages > total - vma->vm_pgoff)
		return -EINVAL;

	/*
	 * A mapping made while remove runs is harmless: its faults check
	 * liveness and get SIGBUS.
	 */
	if (!ivshm_alive(idev))
		return -ENODEV;
	/*
	 * Pages may be pinned (no VM_IO); vm_insert_page() wants VM_MIXEDMAP
	 * set before the fault, where the mmap lock is only read-held.
	 */
	if (idev->pgmap)
		ivshm_vm_flags_set(vma, VM_MIXEDMAP | VM_DONTEXPAND |
				   VM_DONTDUMP);
	else
		ivshm_vm_flags_set(vma, VM_PFNMAP | VM_IO | VM_DONTEXPAND |
				   VM_DONTDUMP);
	vma->vm_page_prot = pgprot_decrypted(vma->vm_page_prot);
	vma->vm_private_data = idev;
	vma->vm_ops = &ivshm_vm_ops;
	return 0;
}

int ivshm_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct ivshm_file *f = filp->private_data;

	return ivshm_mmap_vma(f->idev, vma);
}

static int ivshm_map_file_release(struct inode *inode, struct file *filp)
{
	struct ivshm_device *idev = filp->private_data;

	put_device(&idev->dev);
	return 0;
}

static const struct file_operations ivshm_map_file_fops = {
	.owner = THIS_MODULE,
	.release = ivshm_map_file_release,
};

/*
 * A file on the device's address_space, for mappings made through another
 * file (a dma-buf's): they take it as their vm_file, so the zap of remove
 * finds them with the device node's.  It holds the device in memory.
 */
struct file *ivshm_map_file(struct ivshm_device *idev)
{
	struct file *filp;

	/*
	 * The final fput() drops a reference on the module of the file's
	 * fops, which alloc_file_pseudo() does not take: take it here.  The
	 * caller's own file pins the module, so this cannot fail.
	 */
	__module_get(THIS_MODULE);
	ihold(idev->inode);
	filp = alloc_file_pseudo(idev->inode, ivshm_mnt, "ivshm-map", O_RDWR,
				 &ivshm_map_file_fops);
	if (IS_ERR(filp)) {
		iput(idev->inode);
		module_put(THIS_MODULE);
		return filp;
	}
	get_device(&idev->dev);
	filp->private_data = idev;
	return filp;
}
