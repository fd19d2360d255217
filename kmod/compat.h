/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The few kernel API differences between 6.1 and newer kernels; Kbuild
 * defines the IVSHM_* feature macros from the kernel version.
 */
#ifndef IVSHM_COMPAT_H
#define IVSHM_COMPAT_H

#include <linux/eventfd.h>
#include <linux/mm.h>
#include <linux/pci.h>

#ifndef IVSHM_EVENTFD_SIGNAL_NO_COUNT
static inline void ivshm_eventfd_signal(struct eventfd_ctx *ctx)
{
	eventfd_signal(ctx, 1);
}
#else
static inline void ivshm_eventfd_signal(struct eventfd_ctx *ctx)
{
	eventfd_signal(ctx);
}
#endif

#ifndef IVSHM_HAVE_VM_FLAGS_SET
static inline void ivshm_vm_flags_set(struct vm_area_struct *vma,
				      unsigned long flags)
{
	vma->vm_flags |= flags;
}

static inline void ivshm_vm_flags_clear(struct vm_area_struct *vma,
					unsigned long flags)
{
	vma->vm_flags &= ~flags;
}
#else
static inline void ivshm_vm_flags_set(struct vm_area_struct *vma,
				      unsigned long flags)
{
	vm_flags_set(vma, flags);
}

static inline void ivshm_vm_flags_clear(struct vm_area_struct *vma,
					unsigned long flags)
{
	vm_flags_clear(vma, flags);
}
#endif

/* PCI_IRQ_LEGACY was renamed PCI_IRQ_INTX in 6.8. */
#ifndef PCI_IRQ_INTX
#define PCI_IRQ_INTX PCI_IRQ_LEGACY
#endif

#endif /* IVSHM_COMPAT_H */
