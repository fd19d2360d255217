// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm: doorbell interrupts (MSI-X), their delivery to the eventfds that
 * open files bind, and ringing peers.
 *
 * There is no INTx path: QEMU's ivshmem-doorbell always has MSI-X and
 * injects nothing when the guest has not enabled it (there is no INTx
 * fallback), and the revision 0 device that used INTx is gone from QEMU.
 * A doorbell device without usable MSI-X binds with irq_mode "none".
 */
#include <linux/eventfd.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "ivshm.h"
#include "compat.h"

/* One eventfd bound to one vector by one open file. */
struct ivshm_eventfd_binding {
	struct list_head node;		/* in ivshm_vector.bindings (RCU) */
	struct eventfd_ctx *ctx;
	struct rcu_head rcu;
};

/*
 * Deliver one interrupt: count it, signal the bound eventfds, wake pollers
 * and readers.  The walk is bounded by IVSHM_MAX_BINDINGS, whatever the
 * number of open files.
 */
static irqreturn_t ivshm_msix_handler(int irq, void *data)
{
	struct ivshm_vector *vec = data;
	struct ivshm_eventfd_binding *b;

	atomic64_inc(&vec->count);

	rcu_read_lock();
	list_for_each_entry_rcu(b, &vec->bindings, node)
		ivshm_eventfd_signal(b->ctx);
	rcu_read_unlock();

	wake_up_interruptible(&vec->idev->wait);
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
		INIT_LIST_HEAD(&idev->vectors[i].bindings);
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

static int ivshm_request_irqs(struct ivshm_device *idev)
{
	struct pci_dev *pdev = idev->pdev;
	unsigned int i;
	int ret;

	for (i = 0; i < idev->nvectors; i++) {
		struct ivshm_vector *vec = &idev->vectors[i];

		vec->irq = pci_irq_vector(pdev, i);
		ret = request_irq(vec->irq, ivshm_msix_handler, 0,
				  dev_name(&idev->dev), vec);
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

static int ivshm_setup_msix(struct ivshm_device *idev)
{
	struct pci_dev *pdev = idev->pdev;
	int want, got, ret;

	want = pci_msix_vec_count(pdev);
	if (want <= 0)
		return want ? want : -ENODEV;
	/* A doorbell can only address vectors 0..IVSHM_MAX_VECTOR. */
	if (want > IVSHM_MAX_VECTOR + 1) {
		dev_info(&pdev->dev,
			 "using %d of %d MSI-X vectors: doorbells address at most %d\n",
			 IVSHM_MAX_VECTOR + 1, want, IVSHM_MAX_VECTOR + 1);
		want = IVSHM_MAX_VECTOR + 1;
	}

	/* Take what we can get; userspace sees the number in "vectors". */
	got = pci_alloc_irq_vectors(pdev, 1, want, PCI_IRQ_MSIX);
	if (got < 0)
		return got;
	if (got < want)
		dev_warn(&pdev->dev, "only %d of %d MSI-X vectors allocated\n",
			 got, want);

	ret = ivshm_alloc_vectors(idev, got);
	if (ret)
		goto err_free_irq_vectors;
	ret = ivshm_request_irqs(idev);
	if (ret)
		goto err_free_vectors;
	idev->irq_mode = IVSHM_IRQ_MSIX;
	return 0;

err_free_vectors:
	ivshm_free_vectors(idev);
err_free_irq_vectors:
	pci_free_irq_vectors(pdev);
	return ret;
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

	ret = ivshm_setup_msix(idev);
	if (ret == -ENOMEM)
		return ret;
	if (ret)
		dev_warn(&pdev->dev,
			 "doorbell interrupts unavailable (MSI-X setup failed: %d); receiving calls will fail with ENXIO\n",
			 ret);
	return 0;
}

void ivshm_irq_teardown(struct ivshm_device *idev)
{
	unsigned int i;

	if (idev->irq_mode == IVSHM_IRQ_NONE)
		return;
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

static void ivshm_binding_free(struct ivshm_eventfd_binding *b)
{
	if (!b)
		return;
	eventfd_ctx_put(b->ctx);
	kfree(b);
}

static void ivshm_binding_free_rcu(struct rcu_head *head)
{
	ivshm_binding_free(container_of(head, struct ivshm_eventfd_binding,
					rcu));
}

/*
 * Unlink a binding; it is released once no handler can still be walking
 * past it.  Asynchronously, so that close() and rebinding never wait for
 * a grace period (the module's exit waits for the callbacks).
 */
static void ivshm_binding_unlink(struct ivshm_vector *vec,
				 struct ivshm_eventfd_binding *b)
{
	list_del_rcu(&b->node);
	vec->nbindings--;
	call_rcu(&b->rcu, ivshm_binding_free_rcu);
}

/*
 * Bind fds[i] to vector start + i for file @f (-1 unbinds), all or
 * nothing.  Everything that may fail (fd lookup, allocation, the cap) is
 * done before any list changes.
 */
int ivshm_set_eventfds(struct ivshm_file *f, u32 start, u32 count,
		       const s32 *fds)
{
	struct ivshm_device *idev = f->idev;
	struct ivshm_eventfd_binding **nb;
	u32 i;
	int ret = 0;

	nb = kcalloc(count, sizeof(*nb), GFP_KERNEL);
	if (!nb)
		return -ENOMEM;

	for (i = 0; i < count; i++) {
		struct eventfd_ctx *ctx;

		if (fds[i] == -1)
			continue;
		if (fds[i] < 0) {
			ret = -EINVAL;
			goto out_free;
		}
		ctx = eventfd_ctx_fdget(fds[i]);
		if (IS_ERR(ctx)) {
			ret = PTR_ERR(ctx);
			goto out_free;
		}
		nb[i] = kzalloc(sizeof(*nb[i]), GFP_KERNEL);
		if (!nb[i]) {
			eventfd_ctx_put(ctx);
			ret = -ENOMEM;
			goto out_free;
		}
		nb[i]->ctx = ctx;
	}

	mutex_lock(&idev->bind_lock);
	if (!ivshm_alive(idev)) {
		ret = -ENODEV;
		goto out_unlock;
	}
	/* The cap counts bindings that remain after this call. */
	for (i = 0; i < count; i++) {
		struct ivshm_vector *vec = &idev->vectors[start + i];

		if (nb[i] && !f->bound[start + i] &&
		    vec->nbindings >= IVSHM_MAX_BINDINGS) {
			ret = -ENOSPC;
			goto out_unlock;
		}
	}
	for (i = 0; i < count; i++) {
		struct ivshm_vector *vec = &idev->vectors[start + i];
		struct ivshm_eventfd_binding *old = f->bound[start + i];

		if (old)
			ivshm_binding_unlink(vec, old);
		if (nb[i]) {
			list_add_tail_rcu(&nb[i]->node, &vec->bindings);
			vec->nbindings++;
		}
		f->bound[start + i] = nb[i];
		nb[i] = NULL;
	}
out_unlock:
	mutex_unlock(&idev->bind_lock);
out_free:
	for (i = 0; i < count; i++)
		ivshm_binding_free(nb[i]);
	kfree(nb);
	return ret;
}

void ivshm_file_unbind_all(struct ivshm_file *f)
{
	struct ivshm_device *idev = f->idev;
	unsigned int i;

	mutex_lock(&idev->bind_lock);
	for (i = 0; i < idev->nvectors; i++) {
		if (f->bound[i])
			ivshm_binding_unlink(&idev->vectors[i], f->bound[i]);
		f->bound[i] = NULL;
	}
	mutex_unlock(&idev->bind_lock);
}

/* Ring @vector of @peer; -ENODEV once the device is gone. */
int ivshm_ring_doorbell(struct ivshm_device *idev, u32 peer, u32 vector)
{
	int idx, ret = -ENODEV;

	idx = srcu_read_lock(&idev->srcu);
	if (ivshm_alive(idev)) {
		/*
		 * The caller's stores to the shared memory must be visible
		 * before the peer can see the interrupt.
		 */
		wmb();
		writel((peer << 16) | vector, idev->regs + IVSHM_REG_DOORBELL);
		ret = 0;
	}
	srcu_read_unlock(&idev->srcu, idx);
	return ret;
}
