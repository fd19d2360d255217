// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm: driver for QEMU's ivshmem PCI device (ivshmem-plain and
 * ivshmem-doorbell).  PCI probe and remove, sysfs attributes, module setup.
 */
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "ivshm.h"

#define PCI_VENDOR_ID_IVSHMEM	0x1af4
#define PCI_DEVICE_ID_IVSHMEM	0x1110

static dev_t ivshm_devt;
static DEFINE_IDA(ivshm_ida);

static const char * const ivshm_mode_names[] = {
	[IVSHM_MODE_PLAIN] = "plain",
	[IVSHM_MODE_DOORBELL] = "doorbell",
};

static const char * const ivshm_irq_mode_names[] = {
	[IVSHM_IRQ_NONE] = "none",
	[IVSHM_IRQ_MSIX] = "msix",
};

static ssize_t size_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%llu\n",
			  (unsigned long long)to_ivshm_device(dev)->shm_size);
}
static DEVICE_ATTR_RO(size);

static ssize_t peer_id_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", to_ivshm_device(dev)->peer_id);
}
static DEVICE_ATTR_RO(peer_id);

static ssize_t vectors_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", to_ivshm_device(dev)->nvectors);
}
static DEVICE_ATTR_RO(vectors);

static ssize_t mode_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  ivshm_mode_names[to_ivshm_device(dev)->mode]);
}
static DEVICE_ATTR_RO(mode);

static ssize_t irq_mode_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  ivshm_irq_mode_names[to_ivshm_device(dev)->irq_mode]);
}
static DEVICE_ATTR_RO(irq_mode);

static ssize_t revision_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%u\n", to_ivshm_device(dev)->revision);
}
static DEVICE_ATTR_RO(revision);

/* "pages" (BAR2 has struct pages) or "pfn" (raw PFN mappings). */
static ssize_t map_mode_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  to_ivshm_device(dev)->pgmap ? "pages" : "pfn");
}
static DEVICE_ATTR_RO(map_mode);

/*
 * Page faults on mappings of BAR2 since probe: "PTE PMD PUD", those that
 * mapped 4 KiB pages (a 2 MiB block of them each), 2 MiB and 1 GiB entries.
 */
static ssize_t faults_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct ivshm_device *idev = to_ivshm_device(dev);

	return sysfs_emit(buf, "%lld %lld %lld\n",
			  (long long)atomic64_read(&idev->faults[IVSHM_FAULT_PTE]),
			  (long long)atomic64_read(&idev->faults[IVSHM_FAULT_PMD]),
			  (long long)atomic64_read(&idev->faults[IVSHM_FAULT_PUD]));
}
static DEVICE_ATTR_RO(faults);

static struct attribute *ivshm_attrs[] = {
	&dev_attr_size.attr,
	&dev_attr_peer_id.attr,
	&dev_attr_vectors.attr,
	&dev_attr_mode.attr,
	&dev_attr_irq_mode.attr,
	&dev_attr_revision.attr,
	&dev_attr_map_mode.attr,
	&dev_attr_faults.attr,
	NULL,
};
ATTRIBUTE_GROUPS(ivshm);

static struct class ivshm_class = {
	.name = "ivshm",
	.dev_groups = ivshm_groups,
};

static void ivshm_dev_release(struct device *dev)
{
	struct ivshm_device *idev = to_ivshm_device(dev);

	ivshm_inode_put(idev);
	cleanup_srcu_struct(&idev->srcu);
	ida_free(&ivshm_ida, idev->minor);
	kfree(idev->vectors);
	kfree(idev);
}

/*
 * A doorbell device is told from a plain one by its MSI-X capability: the
 * IVPosition register reads 0 both on a plain device and for peer 0.
 */
static u32 ivshm_detect_mode(struct pci_dev *pdev)
{
	return pdev->msix_cap ? IVSHM_MODE_DOORBELL : IVSHM_MODE_PLAIN;
}

/*
 * Reserve write-back as the memory type of BAR2 for the device's lifetime.
 * BAR2 is ordinary host RAM, and uncached or write-combined access to it
 * is very slow.  User mappings are inserted page by page at fault time
 * (vmf_insert_pfn), which takes the memory type already reserved for the
 * range (on x86, the PAT memtype tree) and would fall back to uncached
 * without one.  A write-back kernel mapping of the whole BAR makes that
 * reservation; it is kept, unused, until remove.  Firmware MTRRs can still
 * downgrade the type (x86, SeaBIOS's 32-bit PCI hole: UC-).
 */
static void ivshm_reserve_wb(struct ivshm_device *idev)
{
	idev->shm_kaddr = memremap(idev->shm_phys, idev->shm_size,
				   MEMREMAP_WB);
	if (!idev->shm_kaddr)
		dev_err(&idev->pdev->dev,
			"cannot reserve BAR2 (%pa, %pa bytes) write-back: user mappings will be UNCACHED and every access to the shared memory slow\n",
			&idev->shm_phys, &idev->shm_size);
}

static int ivshm_map_bars(struct ivshm_device *idev)
{
	struct pci_dev *pdev = idev->pdev;
	int ret;

	if (!(pci_resource_flags(pdev, IVSHM_BAR_SHM) & IORESOURCE_MEM) ||
	    !pci_resource_len(pdev, IVSHM_BAR_SHM)) {
		dev_err(&pdev->dev, "BAR2 (shared memory) is missing\n");
		return -ENODEV;
	}
	idev->shm_phys = pci_resource_start(pdev, IVSHM_BAR_SHM);
	idev->shm_size = pci_resource_len(pdev, IVSHM_BAR_SHM);

	idev->regs = pci_iomap(pdev, IVSHM_BAR_REGS, 0);
	if (!idev->regs) {
		dev_err(&pdev->dev, "cannot map BAR0 registers\n");
		return -ENOMEM;
	}

	ret = ivshm_pages_add(idev);
	if (ret == -EPERM) {		/* not asked for */
		ivshm_reserve_wb(idev);
	} else if (ret) {
		dev_info(&pdev->dev,
			 "BAR2 mapped as raw PFNs, which cannot be pinned for I/O: no struct pages (%d)\n",
			 ret);
		ivshm_reserve_wb(idev);
	}
	return 0;
}

static void ivshm_unmap_bars(struct ivshm_device *idev)
{
	if (idev->pgmap)
		ivshm_pages_remove(idev);
	else if (idev->shm_kaddr)
		memunmap(idev->shm_kaddr);
	pci_iounmap(idev->pdev, idev->regs);
}

static int ivshm_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct ivshm_device *idev;
	int ret;

	idev = kzalloc(sizeof(*idev), GFP_KERNEL);
	if (!idev)
		return -ENOMEM;

	ret = ida_alloc_max(&ivshm_ida, IVSHM_MAX_DEVICES - 1, GFP_KERNEL);
	if (ret < 0) {
		kfree(idev);
		return ret;
	}
	idev->minor = ret;
	idev->pdev = pdev;
	mutex_init(&idev->bind_lock);
	init_waitqueue_head(&idev->wait);
	ret = init_srcu_struct(&idev->srcu);
	if (ret) {
		ida_free(&ivshm_ida, idev->minor);
		kfree(idev);
		return ret;
	}

	/* From here on, put_device() frees idev and its minor. */
	device_initialize(&idev->dev);
	idev->dev.class = &ivshm_class;
	idev->dev.parent = &pdev->dev;
	idev->dev.devt = MKDEV(MAJOR(ivshm_devt), idev->minor);
	idev->dev.release = ivshm_dev_release;
	ret = dev_set_name(&idev->dev, "ivshm%d", idev->minor);
	if (ret)
		goto err_put;

	ret = ivshm_inode_get(idev);
	if (ret)
		goto err_put;

	/* Before anything maps BAR2: it may move. */
	ivshm_place_bar2(pdev);

	ret = pci_enable_device(pdev);
	if (ret)
		goto err_put;

	ret = pci_request_regions(pdev, KBUILD_MODNAME);
	if (ret)
		goto err_disable;

	ret = ivshm_map_bars(idev);
	if (ret)
		goto err_release_regions;

	idev->revision = pdev->revision;
	idev->mode = ivshm_detect_mode(pdev);
	if (idev->mode == IVSHM_MODE_DOORBELL)
		idev->peer_id = readl(idev->regs + IVSHM_REG_IVPOSITION);

	/* MSI-X messages are memory writes by the device. */
	pci_set_master(pdev);

	ret = ivshm_irq_setup(idev);
	if (ret)
		goto err_unmap;

	pci_set_drvdata(pdev, idev);
	cdev_init(&idev->cdev, &ivshm_fops);
	idev->cdev.owner = THIS_MODULE;
	ret = cdev_device_add(&idev->cdev, &idev->dev);
	if (ret)
		goto err_irq;

	dev_info(&pdev->dev,
		 "%s: %s, %llu bytes shared (%s), peer %u, %u vectors (%s)\n",
		 dev_name(&idev->dev), ivshm_mode_names[idev->mode],
		 (unsigned long long)idev->shm_size,
		 idev->pgmap ? "pages" : "pfn", idev->peer_id,
		 idev->nvectors, ivshm_irq_mode_names[idev->irq_mode]);
	return 0;

err_irq:
	ivshm_irq_teardown(idev);
err_unmap:
	pci_clear_master(pdev);
	ivshm_unmap_bars(idev);
err_release_regions:
	pci_release_regions(pdev);
err_disable:
	pci_disable_device(pdev);
err_put:
	put_device(&idev->dev);
	return ret;
}

static void ivshm_remove(struct pci_dev *pdev)
{
	struct ivshm_device *idev = pci_get_drvdata(pdev);

	/*
	 * Once every liveness read section that may have missed @dead has
	 * ended, no file operation touches the hardware or inserts a page.
	 */
	WRITE_ONCE(idev->dead, true);
	synchronize_srcu(&idev->srcu);

	/* Later accesses to existing mappings fault and get SIGBUS. */
	ivshm_revoke_mappings(idev);
	ivshm_irq_teardown(idev);
	wake_up_interruptible_all(&idev->wait);

	cdev_device_del(&idev->cdev, &idev->dev);
	pci_clear_master(pdev);
	ivshm_unmap_bars(idev);
	pci_release_regions(pdev);
	pci_disable_device(pdev);
	idev->pdev = NULL;
	put_device(&idev->dev);
}

static const struct pci_device_id ivshm_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_IVSHMEM, PCI_DEVICE_ID_IVSHMEM) },
	{ }
};
MODULE_DEVICE_TABLE(pci, ivshm_ids);

static struct pci_driver ivshm_driver = {
	.name = KBUILD_MODNAME,
	.id_table = ivshm_ids,
	.probe = ivshm_probe,
	.remove = ivshm_remove,
};

static int __init ivshm_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&ivshm_devt, 0, IVSHM_MAX_DEVICES,
				  KBUILD_MODNAME);
	if (ret)
		return ret;

	ret = class_register(&ivshm_class);
	if (ret)
		goto err_chrdev;

	ret = pci_register_driver(&ivshm_driver);
	if (ret)
		goto err_class;
	return 0;

err_class:
	class_unregister(&ivshm_class);
err_chrdev:
	unregister_chrdev_region(ivshm_devt, IVSHM_MAX_DEVICES);
	return ret;
}

static void __exit ivshm_exit(void)
{
	pci_unregister_driver(&ivshm_driver);
	/* Eventfd bindings are released by RCU callbacks in this module. */
	rcu_barrier();
	class_unregister(&ivshm_class);
	unregister_chrdev_region(ivshm_devt, IVSHM_MAX_DEVICES);
	ida_destroy(&ivshm_ida);
}

module_init(ivshm_init);
module_exit(ivshm_exit);

MODULE_DESCRIPTION("QEMU ivshmem shared memory with doorbell interrupts");
MODULE_LICENSE("GPL");
