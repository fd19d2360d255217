/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ivshm: private definitions of the driver for QEMU's ivshmem PCI device.
 *
 * Locking rules
 * =============
 *
 * Lifetime and liveness are separate (as in UIO).  The struct device's
 * reference count keeps struct ivshm_device in memory while any file is
 * open; liveness is @dead, set once by remove.
 *
 * @srcu (sleepable RCU) guards liveness.  Readers: every file operation
 * that touches the hardware or inserts pages (the doorbell write, the
 * page-fault handler) does srcu_read_lock(), checks @dead
 * (ivshm_alive()), acts, and unlocks.  The writer, remove, sets @dead and then synchronize_srcu():
 * once that returns no reader can still write to BAR0 or insert a page,
 * so remove may zap the mappings, free the interrupts and unmap the BARs.
 * Readers never wait for remove and remove waits only for read sections
 * that are in progress, which are short and bounded by construction:
 *
 *   No read section, and no other lock below, is ever held across user
 *   memory access (copy_{to,from}_user, get_user, a page fault) or a sleep
 *   that user space controls.  Ioctls copy their argument in, enter the
 *   read section, act, leave, and copy the result out.
 *
 * This is what keeps removal from deadlocking against an ioctl whose
 * argument lies in the device's own mapping (the copy faults into
 * ivshm_vm_fault, which must not wait for remove) or in memory whose fault
 * user space can stall (userfaultfd, FUSE).
 *
 * @bind_lock (mutex) serialises changes to the eventfd bindings of every
 * file and vector: IVSHM_SET_EVENTFDS and release.  Bindings live on
 * per-vector RCU lists (struct ivshm_vector.bindings), so the interrupt
 * handler walks them under rcu_read_lock() without a lock, doing work
 * bounded by IVSHM_MAX_BINDINGS per vector however many files are open.
 * An unlinked binding is released by call_rcu(), after a grace period.
 *
 * ivshm_file.read_lock (mutex) serialises read(2) of one file, so that two
 * readers never report the same events.  It is taken only to collect,
 * copy out and commit events; sleeping for events happens without it, and
 * O_NONBLOCK readers only try it.
 *
 * BAR2 is moved (place.c) only in probe, before pci_enable_device() and
 * before the device has a node, an interrupt or a mapping of ours, so it
 * takes no lock of ours; the PCI core locks its resource tree inside
 * pci_release/assign_resource().  It must not take pci_rescan_remove_lock:
 * pciehp holds it while it probes a plugged device and while it waits for
 * a removed device's driver to unbind.
 *
 * @pgmap (BAR2's struct pages, pages.c) is set by probe before the device
 * node exists and cleared by remove only after synchronize_srcu() and the
 * zap.  The fault handler uses it inside a liveness read section; mmap
 * and map_mode only test it for NULL, and a stale answer in mmap only picks
 * the new mapping's flags (its faults find the device dead).
 *
 * An exported dma-buf (dmabuf.c) holds a reference on the pages (struct
 * ivshm_pages, a kref: the device's plus one per export), taken inside a
 * liveness read section that found the device alive, so never after
 * remove dropped the device's; the last reference tears the pages down.
 * Its mappings live on a file of the device's address_space, which holds
 * the device, so remove's zap reaches them and their faults find @dead.
 *
 * Order (outer first): mmap_lock -> srcu read section (fault, mmap);
 * read_lock -> mmap_lock (read's copy out may fault); bind_lock is taken
 * with no other lock of ours held.  Remove takes none of them while it
 * waits in synchronize_srcu().
 */
#ifndef IVSHM_PRIV_H
#define IVSHM_PRIV_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rculist.h>
#include <linux/srcu.h>
#include <linux/wait.h>
#include <linux/ivshm.h>

/* BAR0 registers (32 bits each). */
#define IVSHM_REG_IVPOSITION	0x08	/* our peer id */
#define IVSHM_REG_DOORBELL	0x0c	/* (peer << 16) | vector */

#define IVSHM_BAR_REGS		0
#define IVSHM_BAR_SHM		2

#define IVSHM_MAX_DEVICES	256

struct dev_pagemap;
struct ivshm_eventfd_binding;

struct ivshm_vector {
	struct ivshm_device *idev;
	unsigned int index;
	int irq;			/* Linux irq number, or 0 */
	atomic64_t count;		/* interrupts since probe */
	struct list_head bindings;	/* RCU list; changed under bind_lock */
	unsigned int nbindings;		/* under bind_lock */
};

/* struct ivshm_device.faults: page faults on BAR2 mappings, by entry size. */
enum { IVSHM_FAULT_PTE, IVSHM_FAULT_PMD, IVSHM_FAULT_PUD, IVSHM_FAULT_KINDS };

/* One per bound PCI function; see the locking rules above. */
struct ivshm_device {
	struct device dev;
	struct cdev cdev;
	struct pci_dev *pdev;		/* NULL after remove */
	int minor;

	struct srcu_struct srcu;	/* liveness readers */
	bool dead;			/* set once by remove */

	void __iomem *regs;
	phys_addr_t shm_phys;
	resource_size_t shm_size;
	void *shm_kaddr;		/* holds the write-back reservation */
	struct dev_pagemap *pgmap;	/* BAR2's struct pages, or NULL */
	struct inode *inode;		/* address_space shared by all opens */
	atomic64_t faults[IVSHM_FAULT_KINDS];	/* sysfs "faults" */

	u32 peer_id;
	u8 revision;
	u32 mode;			/* IVSHM_MODE_* */
	u32 irq_mode;			/* IVSHM_IRQ_* */
	unsigned int nvectors;		/* vectors we receive */
	struct ivshm_vector *vectors;

	struct mutex bind_lock;		/* every file's eventfd bindings */
	wait_queue_head_t wait;		/* poll and read */
};

/* State of one open file. */
struct ivshm_file {
	struct ivshm_device *idev;
	struct ivshm_eventfd_binding **bound;	/* [nvectors], bind_lock */
	u64 *seen;			/* [nvectors], count at last read */
	struct mutex read_lock;		/* serialises read() of this file */
};

static inline struct ivshm_device *to_ivshm_device(struct device *dev)
{
	return container_of(dev, struct ivshm_device, dev);
}

/* Alive?  Callers that act on the answer hold a liveness read section. */
static inline bool ivshm_alive(struct ivshm_device *idev)
{
	return !READ_ONCE(idev->dead);
}

/* cdev.c */
extern const struct file_operations ivshm_fops;

/* mmap.c */
int ivshm_mmap(struct file *filp, struct vm_area_struct *vma);
int ivshm_mmap_vma(struct ivshm_device *idev, struct vm_area_struct *vma);
#ifdef CONFIG_ARCH_SUPPORTS_PMD_PFNMAP
unsigned long ivshm_get_unmapped_area(struct file *filp, unsigned long addr,
				      unsigned long len, unsigned long pgoff,
				      unsigned long flags);
#endif
struct file *ivshm_map_file(struct ivshm_device *idev);
int ivshm_inode_get(struct ivshm_device *idev);
void ivshm_inode_put(struct ivshm_device *idev);
void ivshm_revoke_mappings(struct ivshm_device *idev);

/* pages.c */
int ivshm_pages_add(struct ivshm_device *idev);
void ivshm_pages_remove(struct ivshm_device *idev);
struct dev_pagemap *ivshm_pages_get(struct ivshm_device *idev);
void ivshm_pages_put(struct dev_pagemap *pgmap);

/* dmabuf.c */
int ivshm_dmabuf_export(struct ivshm_device *idev, pgoff_t pgoff,
			unsigned long npages, bool cloexec);

/* place.c */
void ivshm_place_bar2(struct pci_dev *pdev);
#if defined(CONFIG_X86) && defined(CONFIG_MTRR)
#include <asm/mtrr.h>
/* The kernel's copy of the MTRRs: exported, declared only in its core. */
extern struct mtrr_state_type mtrr_state;
#endif

/* irq.c */
int ivshm_irq_setup(struct ivshm_device *idev);
void ivshm_irq_teardown(struct ivshm_device *idev);
int ivshm_irq_available(struct ivshm_device *idev);
int ivshm_set_eventfds(struct ivshm_file *f, u32 start, u32 count,
		       const s32 *fds);
void ivshm_file_unbind_all(struct ivshm_file *f);
int ivshm_ring_doorbell(struct ivshm_device *idev, u32 peer, u32 vector);

#endif /* IVSHM_PRIV_H */
