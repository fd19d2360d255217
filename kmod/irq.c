// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm: doorbell interrupts (MSI-X, or INTx on revision 0 devices), their
 * delivery to the eventfds that open files bind, and ringing peers.
 */
#include <linux/eventfd.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "ivshm.h"
#include "compat.h"

/* Deliver one interrupt on @vec: count it, signal bound eventfds, wake. */
static void ivshm_vector_fire(struct ivshm_vector *vec)
{
	struct ivshm_device *idev = vec->idev;
	struct ivshm_file *f;
	unsigned long flags;

	atomic64_inc(&vec->count);

	spin_lock_irqsave(&idev->files_lock, flags);
	list_for_each_entry(f, &idev->files, node) {
		if (f->triggers[vec->index])
			ivshm_eventfd_signal(f->triggers[vec->index]);
	}
	spin_unlock_irqrestore(&idev->files_lock, flags);

	wake_up_interruptible(&idev->wait);
}

static irqreturn_t ivshm_msix_handler(int irq, void *data)
{
	ivshm_vector_fire(data);
	return IRQ_HANDLED;
}

static irqreturn_t ivshm_intx_handler(int irq, void *data)
{
	struct ivshm_vector *vec = data;

	/* Reading the status register acknowledges the interrupt. */
	if (!readl(vec->idev->regs + IVSHM_REG_INTR_STATUS))
		return IRQ_NONE;
	ivshm_vector_fire(vec);
	return IRQ_HANDLED;
}

static int ivshm_alloc_vectors(struct ivshm_device *idev, unsigned int n)
{
	unsigned int i;

	idev->vectors = kcalloc(n, sizeof(*idev->vectors), GFP_KERNEL);
	if (!idev->vectors)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		idev->vectors[i].idev = idev;
		idev->vectors[i].index = i;
		atomic64_set(&idev->vectors[i].count, 0);
	}
	idev->nvectors = n;
	return 0;
}

static void ivshm_free_vectors(struct ivshm_device *idev)
{
	kfree(idev->vectors);
	idev->vectors = NULL;
	idev->nvectors = 0;
}

static int ivshm_request_irqs(struct ivshm_device *idev, irq_handler_t handler,
			      unsigned long flags)
{
	struct pci_dev *pdev = idev->pdev;
	unsigned int i;
	int ret;

	for (i = 0; i < idev->nvectors; i++) {
		struct ivshm_vector *vec = &idev->vectors[i];

		vec->irq = pci_irq_vector(pdev, i);
		ret = request_irq(vec->irq, handler, flags, dev_name(&idev->dev),
				  vec);
		if (ret) {
			vec->irq = 0;
			goto err_free;
		}
	}
	return 0;

err_free:
	while (i--) {
		free_irq(idev->vectors[i].irq, &idev->vectors[i]);
		idev->vectors[i].irq = 0;
	}
	return ret;
}

/* Vectors 0..n-1 of the allocated PCI IRQ vectors, each with @handler. */
static int ivshm_setup_vectors(struct ivshm_device *idev, unsigned int n,
			       irq_handler_t handler, unsigned long flags)
{
	int ret;

	ret = ivshm_alloc_vectors(idev, n);
	if (ret)
		return ret;
	ret = ivshm_request_irqs(idev, handler, flags);
	if (ret)
		ivshm_free_vectors(idev);
	return ret;
}

static int ivshm_setup_msix(struct ivshm_device *idev)
{
	struct pci_dev *pdev = idev->pdev;
	int want, got, ret;

	want = pci_msix_vec_count(pdev);
	if (want <= 0)
		return want ? want : -ENODEV;

	/* Take what we can get; userspace sees the number in "vectors". */
	got = pci_alloc_irq_vectors(pdev, 1, want, PCI_IRQ_MSIX);
	if (got < 0)
		return got;
	if (got < want)
		dev_warn(&pdev->dev, "only %d of %d MSI-X vectors allocated\n",
			 got, want);

	ret = ivshm_setup_vectors(idev, got, ivshm_msix_handler, 0);
	if (ret) {
		pci_free_irq_vectors(pdev);
		return ret;
	}
	idev->irq_mode = IVSHM_IRQ_MSIX;
	return 0;
}

static int ivshm_setup_intx(struct ivshm_device *idev)
{
	struct pci_dev *pdev = idev->pdev;
	int ret;

	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_INTX);
	if (ret < 0)
		return ret;
	ret = ivshm_setup_vectors(idev, 1, ivshm_intx_handler, IRQF_SHARED);
	if (ret) {
		pci_free_irq_vectors(pdev);
		return ret;
	}
	/* Unmask: INTx is asserted while status & mask is non-zero. */
	writel(0xffffffff, idev->regs + IVSHM_REG_INTR_MASK);
	idev->irq_mode = IVSHM_IRQ_INTX;
	return 0;
}

/*
 * A doorbell device whose interrupts cannot be set up still binds: its
 * memory and outgoing doorbells work, and the calls that need incoming
 * interrupts fail with ENXIO.  Only allocation failure fails the probe.
 */
int ivshm_irq_setup(struct ivshm_device *idev)
{
	struct pci_dev *pdev = idev->pdev;
	int ret;

	idev->irq_mode = IVSHM_IRQ_NONE;
	if (idev->mode != IVSHM_MODE_DOORBELL)
		return 0;

	if (pdev->msix_cap)
		ret = ivshm_setup_msix(idev);
	else
		ret = ivshm_setup_intx(idev);
	if (ret == -ENOMEM)
		return ret;
	if (ret)
		dev_warn(&pdev->dev,
			 "doorbell interrupts unavailable (%s setup failed: %d); receiving calls will fail with ENXIO\n",
			 pdev->msix_cap ? "MSI-X" : "INTx", ret);
	return 0;
}

void ivshm_irq_teardown(struct ivshm_device *idev)
{
	unsigned int i;

	if (idev->irq_mode == IVSHM_IRQ_NONE)
		return;
	if (idev->irq_mode == IVSHM_IRQ_INTX)
		writel(0, idev->regs + IVSHM_REG_INTR_MASK);
	/* free_irq() waits for running handlers. */
	for (i = 0; i < idev->nvectors; i++)
		free_irq(idev->vectors[i].irq, &idev->vectors[i]);
	pci_free_irq_vectors(idev->pdev);
	/* Keep vectors[] and nvectors: open files still index them. */
}

/* 0 if this device delivers interrupts, else the errno its calls give. */
int ivshm_irq_available(struct ivshm_device *idev)
{
	if (idev->mode != IVSHM_MODE_DOORBELL)
		return -EOPNOTSUPP;
	if (idev->irq_mode == IVSHM_IRQ_NONE)
		return -ENXIO;
	return 0;
}

int ivshm_set_eventfds(struct ivshm_file *f, u32 start, u32 count,
		       const s32 *fds)
{
	struct ivshm_device *idev = f->idev;
	struct eventfd_ctx **ctxs;
	unsigned long flags;
	u32 i;
	int ret = 0;

	ctxs = kcalloc(count, sizeof(*ctxs), GFP_KERNEL);
	if (!ctxs)
		return -ENOMEM;

	/* Resolve every fd first: all or nothing. */
	for (i = 0; i < count; i++) {
		if (fds[i] == -1)
			continue;
		if (fds[i] < 0) {
			ret = -EINVAL;
			goto out_put;
		}
		ctxs[i] = eventfd_ctx_fdget(fds[i]);
		if (IS_ERR(ctxs[i])) {
			ret = PTR_ERR(ctxs[i]);
			ctxs[i] = NULL;
			goto out_put;
		}
	}

	/* Swap in the new bindings; the old ones are put below. */
	spin_lock_irqsave(&idev->files_lock, flags);
	for (i = 0; i < count; i++)
		swap(f->triggers[start + i], ctxs[i]);
	spin_unlock_irqrestore(&idev->files_lock, flags);

out_put:
	for (i = 0; i < count; i++)
		if (ctxs[i])
			eventfd_ctx_put(ctxs[i]);
	kfree(ctxs);
	return ret;
}

void ivshm_file_unbind_all(struct ivshm_file *f)
{
	struct ivshm_device *idev = f->idev;
	unsigned int i;

	/* The file is off idev->files: no handler can see its triggers. */
	for (i = 0; i < idev->nvectors; i++) {
		if (f->triggers[i])
			eventfd_ctx_put(f->triggers[i]);
		f->triggers[i] = NULL;
	}
}

void ivshm_ring_doorbell(struct ivshm_device *idev, u32 peer, u32 vector)
{
	/*
	 * The caller's stores to the shared memory must be visible before
	 * the peer can see the interrupt.
	 */
	wmb();
	writel((peer << 16) | vector, idev->regs + IVSHM_REG_DOORBELL);
}
