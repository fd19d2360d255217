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
 * SeaBIOS leaves the host bridge's 64-bit window write-back, so such a BAR
 * is released and assigned again, in probe, before the driver maps
 * anything.
 *
 * OVMF's MTRRs make its 64-bit window uncached too, and the 32-bit hole
 * from 2 GiB up.  But the host bridge's 32-bit window starts right after
 * low RAM: with less than 2 GiB of it, the part of the window below 2 GiB
 * is write-back.  When the PCI core's choice is not write-back, BAR2 is
 * placed in the first free, size-aligned place of the bus's windows that
 * the MTRRs leave write-back (ivshm_find_wb_place); behind a PCIe root
 * port, the port's prefetchable window moves to such a place first.  With
 * 2 GiB or more of RAM below 4 GiB no window has one, and the MTRRs are
 * not a driver's to change (UC wins where ranges overlap, and mtrr_add()
 * is not exported): the warning says how to start the guest instead.
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

#ifdef CONFIG_MTRR
#define IVSHM_MTRR_VALID	BIT(11)		/* in mask_lo */
#define IVSHM_MTRR_TYPE		0xffU		/* in base_lo */

/*
 * Do the variable MTRRs leave [start, start + size) write-back: the
 * default type is, and no enabled range of another type meets it?  Pure
 * arithmetic on the kernel's copy of them, so that many candidate places
 * cost nothing; the one chosen is still checked by mapping it.  A range
 * whose mask is not contiguous is taken to meet everything.
 */
static bool ivshm_mtrr_wb(u64 start, u64 size)
{
	const struct mtrr_state_type *st = &mtrr_state;
	u64 base, mask, len;
	unsigned int i;

	if (!(st->enabled & MTRR_STATE_MTRR_ENABLED) ||
	    st->def_type != MTRR_TYPE_WRBACK)
		return false;
	for (i = 0; i < MTRR_MAX_VAR_RANGES; i++) {
		const struct mtrr_var_range *v = &st->var_ranges[i];

		if (!(v->mask_lo & IVSHM_MTRR_VALID) ||
		    (v->base_lo & IVSHM_MTRR_TYPE) == MTRR_TYPE_WRBACK)
			continue;
		mask = ((u64)v->mask_hi << 32 | v->mask_lo) & PAGE_MASK;
		len = mask & -mask;
		if (!len || ((mask + len) & (mask + len - 1)))
			return false;
		base = ((u64)v->base_hi << 32 | v->base_lo) & mask;
		if (base < start + size && start < base + len)
			return false;
	}
	return true;
}
#else
static bool ivshm_mtrr_wb(u64 start, u64 size)
{
	return true;
}
#endif
#else
/* Only x86's MTRRs make an ordinary memory BAR uncacheable. */
static bool ivshm_wb_possible(resource_size_t start, resource_size_t size)
{
	return true;
}

static bool ivshm_mtrr_wb(u64 start, u64 size)
{
	return true;
}
#endif

/*
 * Allocate @res (released) at the first free, size-aligned place of @size
 * bytes in the memory windows of @bus that the MTRRs leave write-back, as
 * the kernel confirms by mapping it.  0 or -ENOSPC.
 */
static int ivshm_find_wb_place(struct pci_bus *bus, struct resource *res,
			       resource_size_t size)
{
	struct resource *win;
	resource_size_t a;
	unsigned int i;

	pci_bus_for_each_resource(bus, win, i) {
		if (!win || !(win->flags & IORESOURCE_MEM) ||
		    (win->flags & IORESOURCE_UNSET))
			continue;
		/* stops when a + size passes the window or wraps around */
		for (a = ALIGN(win->start, size);
		     a >= win->start && a <= win->end &&
		     size - 1 <= win->end - a; a += size) {
			if (!ivshm_mtrr_wb(a, size) ||
			    allocate_resource(win, res, size, a, a + size - 1,
					      size, NULL, NULL))
				continue;
			if (ivshm_wb_possible(a, size))
				return 0;
			release_resource(res);
		}
	}
	return -ENOSPC;
}

/*
 * Program 64-bit BAR2 with @res, as the PCI core does when it assigns one
 * (pci_update_resource(), which modules cannot call).  The low bits of the
 * first dword are the BAR's read-only type bits.
 */
static void ivshm_write_bar2(struct pci_dev *pdev, struct resource *res)
{
	struct pci_bus_region region;
	int reg = PCI_BASE_ADDRESS_0 + 4 * IVSHM_BAR_SHM;

	pcibios_resource_to_bus(pdev->bus, &region, res);
	pci_write_config_dword(pdev, reg, lower_32_bits(region.start) |
			       (res->flags & PCI_REGION_FLAG_MASK));
	pci_write_config_dword(pdev, reg + 4, upper_32_bits(region.start));
}

/*
 * Program @bridge's prefetchable window from its resource, as the PCI core
 * does (pci_setup_bridge(), which modules cannot call).  Clearing the
 * upper limit first closes the window while the rest is written, rather
 * than opening one that mixes the old and new places.
 */
static void ivshm_write_pref_window(struct pci_dev *bridge)
{
	struct resource *win = &bridge->resource[PCI_BRIDGE_PREF_MEM_WINDOW];
	struct pci_bus_region region;

	pcibios_resource_to_bus(bridge->bus, &region, win);
	pci_write_config_dword(bridge, PCI_PREF_LIMIT_UPPER32, 0);
	pci_write_config_dword(bridge, PCI_PREF_MEMORY_BASE,
			       ((region.start >> 16) & 0xfff0) |
			       (lower_32_bits(region.end) & 0xfff00000));
	if (!(win->flags & IORESOURCE_MEM_64))
		return;
	pci_write_config_dword(bridge, PCI_PREF_BASE_UPPER32,
			       upper_32_bits(region.start));
	pci_write_config_dword(bridge, PCI_PREF_LIMIT_UPPER32,
			       upper_32_bits(region.end));
}

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
 * Behind a bridge (a PCIe root port) BAR2 can only move within the
 * bridge's prefetchable window, which firmware placed for it.  The window
 * moves with BAR2 only when our function is alone below the bridge.
 */
static struct pci_dev *ivshm_lone_bridge(struct pci_dev *pdev)
{
	struct pci_dev *bridge = pdev->bus->self;

	if (!bridge || !list_is_singular(&pdev->bus->devices) ||
	    !list_empty(&pdev->bus->children) ||
	    !(bridge->resource[PCI_BRIDGE_PREF_MEM_WINDOW].flags &
	      IORESOURCE_PREFETCH))
		return NULL;
	return bridge;
}

/*
 * Can the PCI core move BAR2 above 4 GiB with its bridge's window: that
 * window can be 64-bit, and the bridge's own bus has a 64-bit window?
 */
static struct pci_dev *ivshm_movable_bridge(struct pci_dev *pdev)
{
	struct pci_dev *bridge = ivshm_lone_bridge(pdev);

	if (!bridge ||
	    !(bridge->resource[PCI_BRIDGE_PREF_MEM_WINDOW].flags &
	      IORESOURCE_MEM_64) ||
	    !ivshm_bus_has_64bit_window(bridge->bus))
		return NULL;
	return bridge;
}

/*
 * Move @bridge's prefetchable window, empty now that BAR2 is released, to
 * a write-back place of its bus's windows: at its firmware size first,
 * which leaves room for a bigger device plugged in later, else just big
 * enough for BAR2's @size.  Without one it stays where it was.
 */
static int ivshm_move_window(struct pci_dev *bridge, resource_size_t size)
{
	struct resource *win = &bridge->resource[PCI_BRIDGE_PREF_MEM_WINDOW];
	resource_size_t start = win->start, end = win->end;
	resource_size_t full = roundup_pow_of_two(resource_size(win));
	resource_size_t least = max_t(resource_size_t, size, SZ_1M);

	if (!win->parent || win->child)
		return -EBUSY;
	pci_release_resource(bridge, PCI_BRIDGE_PREF_MEM_WINDOW);
	if (!ivshm_find_wb_place(bridge->bus, win, full) ||
	    (least < full &&
	     !ivshm_find_wb_place(bridge->bus, win, least))) {
		win->flags &= ~IORESOURCE_UNSET;
		ivshm_write_pref_window(bridge);
		return 0;
	}
	win->start = start;
	win->end = end;
	win->flags &= ~IORESOURCE_UNSET;
	if (pci_claim_resource(bridge, PCI_BRIDGE_PREF_MEM_WINDOW))
		pci_warn(bridge, "bridge window %pR lost while moving it\n", win);
	return -ENOSPC;
}

/*
 * BAR2 is not write-back where it is (released and unassigned if
 * @released): put it in a write-back place of its bus's windows, or of
 * its bridge's bus with the bridge's window (@moved tells), and program
 * it.  Without one it goes back where it was, or where the PCI core puts
 * it.
 */
static int ivshm_move_wb(struct pci_dev *pdev, bool released,
			 struct pci_dev **moved)
{
	struct resource *res = &pdev->resource[IVSHM_BAR_SHM];
	resource_size_t start = res->start, size = resource_size(res);
	struct pci_dev *bridge = ivshm_lone_bridge(pdev);
	int ret;

	if (!released)
		pci_release_resource(pdev, IVSHM_BAR_SHM);
	ret = ivshm_find_wb_place(pdev->bus, res, size);
	if (ret && bridge && !ivshm_move_window(bridge, size)) {
		*moved = bridge;
		ret = ivshm_find_wb_place(pdev->bus, res, size);
	}
	if (!ret) {
		res->flags &= ~IORESOURCE_UNSET;
		ivshm_write_bar2(pdev, res);
		return 0;
	}
	if (!released && !*moved) {
		res->start = start;
		res->end = start + size - 1;
		res->flags &= ~IORESOURCE_UNSET;
		if (!pci_claim_resource(pdev, IVSHM_BAR_SHM))
			return 0;
	}
	return pci_assign_resource(pdev, IVSHM_BAR_SHM);
}

/*
 * Called by probe before the device is enabled and before anything maps
 * BAR2.  Memory decoding is off while the BAR moves, so the device never
 * answers at an address half written.  First the PCI core's choice: a
 * BAR2 in the 32-bit hole is assigned again, which puts it above 4 GiB
 * (with its bridge's window behind a root port).  If that is not
 * write-back either (OVMF), or was not possible, BAR2 goes to a place the
 * driver finds write-back (ivshm_move_wb); without one it stays (or
 * returns) where the PCI core puts it, and the driver says so.
 */
void ivshm_place_bar2(struct pci_dev *pdev)
{
	struct resource *res = &pdev->resource[IVSHM_BAR_SHM];
	unsigned long want = IORESOURCE_MEM | IORESOURCE_MEM_64 |
			     IORESOURCE_PREFETCH;
	resource_size_t old = res->start, size = resource_size(res);
	struct pci_dev *bridge = NULL, *moved = NULL;
	int ret = 0;
	u16 cmd;

	if ((res->flags & IORESOURCE_UNSET) || !size)
		return;
	/* Above 4 GiB one page tells, and keeps the usual probe cheap. */
	if (ivshm_wb_possible(old, old > U32_MAX ? PAGE_SIZE : size))
		return;
	if (!relocate_bar2 || (res->flags & want) != want)
		goto report;

	pci_read_config_word(pdev, PCI_COMMAND, &cmd);
	pci_write_config_word(pdev, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
	if (old <= U32_MAX && !ivshm_bus_has_64bit_window(pdev->bus))
		bridge = ivshm_movable_bridge(pdev);
	if (old <= U32_MAX &&
	    (bridge || ivshm_bus_has_64bit_window(pdev->bus))) {
		pci_release_resource(pdev, IVSHM_BAR_SHM);
		if (bridge) {
			pci_release_resource(bridge, PCI_BRIDGE_PREF_MEM_WINDOW);
			pci_assign_unassigned_bridge_resources(bridge);
			if (!res->parent)
				ret = -ENOSPC;
		} else {
			ret = pci_assign_resource(pdev, IVSHM_BAR_SHM);
		}
	}
	/* ret != 0: BAR2 was released and is unassigned */
	if (ret || !ivshm_wb_possible(res->start, size))
		ret = ivshm_move_wb(pdev, ret, &moved);
	pci_write_config_word(pdev, PCI_COMMAND, cmd);
	if (ret) {
		pci_warn(pdev, "BAR2 at %pa cannot be mapped write-back and could not be moved (%d): shared memory unusable\n",
			 &old, ret);
		return;
	}
	if (ivshm_wb_possible(res->start, size)) {
		pci_info(pdev, "BAR2 moved from %pa to %pR%s: the MTRRs make its old place uncached, the new one is write-back\n",
			 &old, res, bridge || moved ? " with its bridge's window" : "");
		return;
	}
report:
	pci_warn(pdev, "BAR2 %pR cannot be mapped write-back: the MTRRs make %s uncached%s: every access to the shared memory is uncached\n",
		 res, res->start > U32_MAX ? "its 64-bit PCI window" :
		 "its place in the 32-bit PCI hole",
		 !relocate_bar2 ? " (relocate_bar2=0)" :
		 (res->flags & want) != want ?
		 " and only a 64-bit prefetchable BAR2 is moved" :
		 " and its bus's windows have no free write-back place (with OVMF, keep the guest's RAM below 4 GiB under 2 GiB: QEMU -machine max-ram-below-4g=1G)");
}
