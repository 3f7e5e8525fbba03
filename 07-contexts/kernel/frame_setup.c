/*
 * frame_setup.c: the kernel's side of the frame allocator. It hands
 * the usable memory of the sanitised map to frame.c at boot, in two
 * steps around vm_init(), and turns the allocator's reports of misuse
 * into panics. frame.c itself knows nothing of the memory map.
 */
#include "frame.h"
#include "bootinfo.h"
#include "kprintf.h"
#include "memmap.h"
#include "panic.h"
#include <stdarg.h>

/**
 * ## Giving the allocator its memory
 *
 * frame.c's "Starting up" lists four steps: measure the table, find a
 * place for it, `frame_init()`, and `frame_init_range()` for every
 * usable range. Here they meet the machine.
 *
 * **Which memory.** Every range the sanitised map calls usable, from
 * 1 MiB up. The sanitiser (chapter 01) has already cut the kernel
 * image, the boot record, the bootloader's page tables and the boot
 * stack out of the usable ranges, and it has rounded every usable range
 * to whole pages. So whatever reaches the allocator is free RAM and
 * nothing else. Memory below 1 MiB stays unused, as in chapter 02: it is
 * small, full of firmware leftovers, and chapter 06 needs a page there
 * to start the other CPUs.
 *
 * **How large a table.** It has an entry for every frame below the end
 * of the highest RAM range of any kind (`e820_ram_end()`), not only of
 * the highest usable one. ACPI reclaimable memory often lies above the
 * last usable range, and once the ACPI tables have been read (chapter
 * 06) it is free RAM like any other: `frame_init_range()` adds it then,
 * and the table must already cover it. The extra entries cost 3 KiB
 * per MiB of such memory.
 *
 * **Where the table goes.** In the lowest usable range above 1 MiB with
 * room for it, which on QEMU is right after the kernel image. It must
 * lie below BOOT_MAPPED_BYTES (1 GiB), because frame_init() clears it
 * at once, before the kernel has its own direct map. At 3 MiB per GiB
 * of address space, that leaves room for machines up to about 340 GiB;
 * on a larger one, table_place() stops the boot with a clear message.
 *
 * **Two steps.** The allocator itself does not care when a range comes,
 * or whether it is mapped: adding one writes to the table only. The
 * order is vm_init()'s need. It builds the kernel's new page tables in
 * frames from the allocator and fills them in *before* it switches to
 * them, through the bootloader's tables, which map the first 1 GiB only
 * (pt_phys_to_virt() in vm.c panics if anything reaches beyond it that
 * early). So those frames must come from below 1 GiB, and the simplest
 * way to be sure is to give the allocator nothing else until then:
 *
 * 1. `frame_setup_low()` sets the allocator up and adds the usable
 *    memory below 1 GiB;
 * 2. `vm_init()` builds the kernel's tables, including a direct map of
 *    *all* RAM, taking its table frames from that memory;
 * 3. `frame_setup_high()` adds the usable memory above 1 GiB.
 *
 * A range that crosses 1 GiB is simply added in two parts. That changes
 * no block: no block reaches across a multiple of 4 MiB, the largest
 * block size, and 1 GiB is one.
 */
/* Add the usable memory inside [lo, hi) to the allocator. */
static void add_usable(uint64_t lo, uint64_t hi)
{
	for (int i = 0; i < memmap_count; i++) {
		uint64_t base = memmap[i].base, end = memmap[i].end;

		if (memmap[i].type != E820_USABLE)
			continue;
		if (base < lo)
			base = lo;
		if (end > hi)
			end = hi;
		if (base < end)
			frame_init_range(base, end);
	}
}


/* The lowest page-aligned place for `bytes` inside one usable range,
 * above 1 MiB and below the boot window's end. */
static uint64_t table_place(uint64_t bytes)
{
	for (int i = 0; i < memmap_count; i++) {
		uint64_t base = memmap[i].base, end = memmap[i].end;

		if (memmap[i].type != E820_USABLE)
			continue;
		if (base < LOW_MEMORY_END)
			base = LOW_MEMORY_END;
		if (end > BOOT_MAPPED_BYTES)
			end = BOOT_MAPPED_BYTES;
		if (base < end && end - base >= bytes)
			return base;
	}
	panic("no room below 1 GiB for the frame table (%lu bytes)",
	      (unsigned long)bytes);
}

void frame_setup_low(void)
{
	uint64_t top = e820_ram_end(memmap, memmap_count);

	frame_init(top, table_place(frame_meta_bytes(top)));
	add_usable(LOW_MEMORY_END, BOOT_MAPPED_BYTES);
}

void frame_setup_high(void)
{
	struct frame_stats s;

	add_usable(BOOT_MAPPED_BYTES, UINT64_MAX);
	frame_get_stats(&s);
	kprintf("Frame table: %lu KiB for the frames below %lX\n",
		(unsigned long)(s.table_bytes >> 10),
		(unsigned long)e820_ram_end(memmap, memmap_count));
	kprintf("Frames: %lu managed (%lu MiB), table at %lX\n",
		(unsigned long)s.total, (unsigned long)(s.total >> 8),
		(unsigned long)s.table_phys);
	kprintf("Free blocks of 1, 2, 4 ... %lu frames:",
		(unsigned long)FRAME_MAX_RUN);
	for (int order = 0; order <= FRAME_MAX_ORDER; order++)
		kprintf(" %lu", (unsigned long)s.blocks[order]);
	kprintf("\n");
}

/**
 * ## A misuse stops the kernel
 *
 * frame.c calls `frame_panic()` when a free is wrong: a double free, a
 * frame that was never handed out, or a wrong count. Carrying on would
 * hand one frame to two users, so the kernel stops, with the message
 * that names the frame. To see who made the bad call, run the scenario
 * under gdb with `break frame_panic` and type `bt`.
 */
_Noreturn void frame_panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	panic("frame allocator: %s", msg);
}
