// SPDX-License-Identifier: GPL-2.0-only
/*
 * ivshm: where BAR2 (the shared memory) lies in the guest's physical
 * address space, and moving it where it can be mapped write-back.
 *
 * BAR2 is ordinary host RAM.  On x86 the type a mapping of it gets is the
 * PAT type asked for combined with the MTRRs' type for the range, and
 * firmware's MTRRs mark the 32-bit PCI hole uncached: SeaBIOS places a
 * small 64-bit BAR there (a 1 GiB one does not fit and goes above 4 GiB),
 * so every mapping of a 2 or 4 MiB BAR2 came out uncached-minus.  The PCI
 * core puts a 64-bit resource above 4 GiB first when it assigns one, and
 * the host bridge's 64-bit window is write-back, so such a BAR is released
 * and assigned again, in probe, before the driver maps anything.
 */
#include <linux/io.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/sizes.h>

#include "ivshm.h"

static bool relocate_bar2 = true;
module_param(relocate_bar2, bool, 0444);
MODULE_PARM_DESC(relocate_bar2,
		 "Move a 64-bit BAR2 that would be mapped uncached (in the 32-bit PCI hole) into a 64-bit window (default: on)");

#ifdef CONFIG_X86
#include <asm/memtype.h>
#include <asm/pgtable.h>

/*
 * Would a write-back mapping of [start, start + size) be write-back?  The
 * kernel decides when it reserves the range (PAT request downgraded by
 * the MTRRs), so ask it: map the range write-back, read the cache bits of
 * the PTE it made, unmap.  PCD and PWT both clear is write-back in either
 * half of the kernel's PAT table.  Without PAT the PTE says nothing about
 * the MTRRs: answer yes, and leave BAR2 where it is.
 */
static bool ivshm_wb_possible(resource_size_t start, resource_size_t size)
{
	unsigned int level;
	bool wb = false;
	pte_t *pte;
	void *p;

	if (!pat_enabled())
		return true;
	p = memremap(start, size, MEMREMAP_WB);
	if (!p)
		return false;
	pte = lookup_address((unsigned long)p, &level);
	if (pte)
		wb = !(pte_flags(*pte) & (_PAGE_PWT | _PAGE_PCD));
	memunmap(p);
	return wb;
}
#else
/* Only x86's MTRRs make an ordinary memory BAR uncacheable. */
static bool ivshm_wb_possible(resource_size_t start, resource_size_t size)
{
	return true;
}
#endif

/* Does the bus BAR2 is allocated from have memory space above 4 GiB? */
static bool ivshm_bus_has_64bit_window(struct pci_bus *bus)
{
	struct resource *r;
	unsigned int i;

	pci_bus_for_each_resource(bus, r, i) {
		if (r && (r->flags & IORESOURCE_MEM) &&
		    !(r->flags & IORESOURCE_UNSET) && r->end > U32_MAX)
			return true;
	}
	return false;
}

/*
 * Behind a bridge (a PCIe root port) BAR2 can only move within the bridge's
 * prefetchable window, which firmware sized for it in the 32-bit hole as
 * well.  When our function is alone below the bridge, and that window can
 * be 64-bit and the bridge's own bus has a 64-bit window, the window is
 * released with BAR2 and the PCI core sizes and places both again.
 */
static struct pci_dev *ivshm_movable_bridge(struct pci_dev *pdev)
{
	struct pci_dev *bridge = pdev->bus->self;

	if (!bridge || !list_is_singular(&pdev->bus->devices) ||
	    !list_empty(&pdev->bus->children) ||
	    !(bridge->resource[PCI_BRIDGE_RESOURCES + 2].flags &
	      IORESOURCE_MEM_64) ||
	    !ivshm_bus_has_64bit_window(bridge->bus))
		return NULL;
	return bridge;
}

/*
 * Called by probe before the device is enabled and before anything maps
 * BAR2.  Memory decoding is off while the BAR moves, so the device never
 * answers at an address half written.  pci_assign_resource() falls back
 * to the firmware's address when nothing else fits.
 */
void ivshm_place_bar2(struct pci_dev *pdev)
{
	struct resource *res = &pdev->resource[IVSHM_BAR_SHM];
	unsigned long want = IORESOURCE_MEM | IORESOURCE_MEM_64 |
			     IORESOURCE_PREFETCH;
	struct pci_dev *bridge = NULL;
	resource_size_t old = res->start;
	u16 cmd;
	int ret = 0;

	if ((res->flags & IORESOURCE_UNSET) || !resource_size(res))
		return;
	/*
	 * Above 4 GiB it is already where a move would put it.  Firmware that
	 * makes its 64-bit window uncached too (OVMF's MTRRs cover both PCI
	 * windows) leaves no write-back place: say so.  One page tells, and
	 * keeps the usual probe (and a rebind) cheap.
	 */
	if (res->start > U32_MAX) {
		if (!ivshm_wb_possible(res->start, PAGE_SIZE))
			pci_warn(pdev, "BAR2 %pR cannot be mapped write-back: the MTRRs make its 64-bit PCI window uncached (OVMF does), and no window is write-back: every access to the shared memory is uncached\n",
				 res);
		return;
	}
	if (!relocate_bar2 || (res->flags & want) != want ||
	    ivshm_wb_possible(res->start, resource_size(res)))
		return;

	if (!ivshm_bus_has_64bit_window(pdev->bus)) {
		bridge = ivshm_movable_bridge(pdev);
		if (!bridge) {
			pci_info(pdev,
				 "BAR2 %pR cannot be mapped write-back and bus %02x has no 64-bit window to move it to: shared memory stays uncached\n",
				 res, pdev->bus->number);
			return;
		}
	}

	pci_read_config_word(pdev, PCI_COMMAND, &cmd);
	pci_write_config_word(pdev, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
	pci_release_resource(pdev, IVSHM_BAR_SHM);
	if (bridge) {
		pci_release_resource(bridge, PCI_BRIDGE_RESOURCES + 2);
		pci_assign_unassigned_bridge_resources(bridge);
		if (!res->parent)
			ret = -ENOSPC;
	} else {
		ret = pci_assign_resource(pdev, IVSHM_BAR_SHM);
	}
	pci_write_config_word(pdev, PCI_COMMAND, cmd);

	if (ret)
		pci_warn(pdev, "BAR2 at %pa cannot be mapped write-back and could not be moved (%d): shared memory unusable\n",
			 &old, ret);
	else if (res->start == old)
		pci_info(pdev, "BAR2 %pR cannot be mapped write-back and found no room elsewhere: shared memory stays uncached\n",
			 res);
	else
		pci_info(pdev, "BAR2 moved from %pa to %pR%s: the MTRRs make its old place uncached, the new one is %s\n",
			 &old, res, bridge ? " with its bridge's window" : "",
			 ivshm_wb_possible(res->start, resource_size(res)) ?
			 "write-back" : "still not write-back");
}
