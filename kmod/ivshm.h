/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ivshm: private definitions of the driver for QEMU's ivshmem PCI device.
 */
#ifndef IVSHM_PRIV_H
#define IVSHM_PRIV_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/ivshm.h>

/* BAR0 registers (32 bits each). */
#define IVSHM_REG_INTR_MASK	0x00	/* revision 0, INTx only */
#define IVSHM_REG_INTR_STATUS	0x04	/* revision 0, INTx only; read clears */
#define IVSHM_REG_IVPOSITION	0x08	/* our peer id */
#define IVSHM_REG_DOORBELL	0x0c	/* (peer << 16) | vector */

#define IVSHM_BAR_REGS		0
#define IVSHM_BAR_SHM		2

#define IVSHM_MAX_DEVICES	256

struct ivshm_vector {
	struct ivshm_device *idev;
	unsigned int index;
	int irq;			/* Linux irq number, or 0 */
	atomic64_t count;		/* interrupts since probe */
};

/*
 * One per bound PCI function.  Its lifetime is the struct device's
 * reference count (open files hold one through the cdev); its liveness is
 * @dead, set once under @lock by remove and checked by every file
 * operation.
 */
struct ivshm_device {
	struct device dev;
	struct cdev cdev;
	struct pci_dev *pdev;		/* NULL after remove */
	int minor;

	struct rw_semaphore lock;	/* readers: fops; writer: remove */
	bool dead;

	void __iomem *regs;
	phys_addr_t shm_phys;
	resource_size_t shm_size;
	void *shm_kaddr;		/* write-back kernel mapping (memtype) */
	struct inode *inode;		/* address_space shared by all opens */

	u32 peer_id;
	u8 revision;
	u32 mode;			/* IVSHM_MODE_* */
	u32 irq_mode;			/* IVSHM_IRQ_* */
	unsigned int nvectors;		/* vectors we receive */
	struct ivshm_vector *vectors;

	spinlock_t files_lock;		/* files list and their bindings */
	struct list_head files;
	wait_queue_head_t wait;		/* poll and read */
};

/* State of one open file. */
struct ivshm_file {
	struct ivshm_device *idev;
	struct list_head node;		/* in idev->files */
	struct eventfd_ctx **triggers;	/* [nvectors], under files_lock */
	u64 *seen;			/* [nvectors], count at last read */
	struct mutex read_lock;		/* serialises read() of this file */
};

static inline struct ivshm_device *to_ivshm_device(struct device *dev)
{
	return container_of(dev, struct ivshm_device, dev);
}

/* cdev.c */
extern const struct file_operations ivshm_fops;

/* mmap.c */
int ivshm_mmap(struct file *filp, struct vm_area_struct *vma);
int ivshm_inode_get(struct ivshm_device *idev);
void ivshm_inode_put(struct ivshm_device *idev);
void ivshm_revoke_mappings(struct ivshm_device *idev);

/* irq.c */
int ivshm_irq_setup(struct ivshm_device *idev);
void ivshm_irq_teardown(struct ivshm_device *idev);
int ivshm_irq_available(struct ivshm_device *idev);
int ivshm_set_eventfds(struct ivshm_file *f, u32 start, u32 count,
		       const s32 *fds);
void ivshm_file_unbind_all(struct ivshm_file *f);
void ivshm_ring_doorbell(struct ivshm_device *idev, u32 peer, u32 vector);

#endif /* IVSHM_PRIV_H */
