/*
 * memmap.c: takes the BIOS memory map from the boot record, prints it as
 * the BIOS gave it, and builds the sanitised map the rest of the kernel
 * uses (e820.c does the sanitising; this file feeds it and prints).
 */
#include "memmap.h"
#include "kprintf.h"
#include "panic.h"
#include "smp.h"
#include "string.h"

/**
 * ## Reading the memory map
 *
 * The raw entries are *copied* out of the bootloader's buffer first.
 * That buffer sits in low memory that the kernel will want back, and in
 * chapter 02 the identity map that lets us read it goes away; a copy in
 * the kernel's own `.bss` stays valid for as long as the kernel runs.
 *
 * Then we print it in the format of Redox 0.3.5's boot log, one line
 * per entry, in decimal and with the `acpi` dword exactly as stored. On
 * QEMU you will see `acpi: 1` where Redox's log shows `acpi: 0`: Redox
 * zeroes its buffer, and SeaBIOS writes only 20 bytes per entry, so the
 * dword keeps whatever was there before the call. We preset it to 1,
 * "valid" (see `boot/e820.inc`).
 *
 * ### Reading the raw QEMU map (`-machine q35 -m 2G`)
 *
 * - 0 to 654336 (0x9FC00), usable: conventional memory, the "640 KiB"
 *   of the original PC, minus its top 1 KiB.
 * - 654336, 1024 bytes, reserved: the Extended BIOS Data Area, where
 *   SeaBIOS keeps its own data. Not reclaimable.
 * - 983040 (0xF0000), 64 KiB, reserved: the BIOS ROM itself.
 * - 1 MiB up to just under 2 GiB, usable: the RAM we asked for with
 *   `-m 2G`, minus what follows.
 * - 0x7FFDF000, about 132 KiB, reserved: the ACPI tables and other data
 *   SeaBIOS placed at the top of RAM. They stay reserved: SeaBIOS marks
 *   them type 2, not type 3 ("ACPI reclaimable"), and chapter 06 reads
 *   the ACPI tables from there.
 * - 0xB0000000, 256 MiB, reserved: the PCI Express configuration space
 *   (MMCONFIG) of the q35 chipset. Not RAM at all: device registers.
 * - 0xFED1C000, 16 KiB: the chipset's root complex registers; 0xFFFC0000,
 *   256 KiB: the BIOS flash, mapped just below 4 GiB.
 * - 0xFD00000000, 12 GiB, reserved: the AMD HyperTransport hole that QEMU
 *   reports when the guest CPU claims to be AMD, as TCG's does.
 *
 * So why are there *several* free areas? Because the usable RAM is
 * interrupted by things that must sit at fixed addresses: the BIOS and
 * video memory below 1 MiB, and, in a machine with more RAM, the PCI
 * hole below 4 GiB, which pushes the rest of the RAM above 4 GiB
 * (boot with `-m 6G` to see a third usable area).
 */
struct e820_entry memmap_raw[E820_MAX_ENTRIES];
int memmap_raw_count;
struct mem_range memmap[E820_MAX_OUT];
int memmap_count;

static void print_raw(void)
{
	for (int i = 0; i < memmap_raw_count; i++) {
		const struct e820_entry *e = &memmap_raw[i];

		kprintf("MemoryArea { base_addr: %lu, length: %lu, "
			"_type: %u, acpi: %u }\n",
			(unsigned long)e->base, (unsigned long)e->length,
			e->type, e->acpi);
	}
}

static void print_sanitised(void)
{
	kprintf("Sanitised memory map:\n");
	for (int i = 0; i < memmap_count; i++) {
		const struct mem_range *r = &memmap[i];
		uint64_t kib = (r->end - r->base) >> 10;

		kprintf("  %016lX-%016lX %10lu KiB  %s\n",
			(unsigned long)r->base, (unsigned long)r->end,
			(unsigned long)kib, e820_type_name(r->type));
	}
}

/**
 * ### Carving out what is already in use
 *
 * E820 says the RAM at 1 MiB is free, but our kernel is sitting in it,
 * and the boot record, the raw map, the temporary page tables and the
 * boot stack sit in the free RAM below 640 KiB. A memory allocator that
 * trusted the raw map would hand those pages out and the kernel would
 * overwrite its own code or stack. So we pass these ranges to the
 * sanitiser as *carve-outs*: they appear in the sanitised map as
 * "kernel" and "boot", never as "usable". This is why the kernel's
 * physical range travels in the boot record: Redox passes it on for the
 * same reason. From chapter 06 on, one more page is the kernel's from
 * the start: the trampoline's, below 1 MiB, where the other CPUs run
 * their first instructions (trampoline.asm). It is "kernel" and never
 * freed, so no allocator, now or in a later chapter that hands out low
 * memory, can give it away.
 */
void memmap_init(const struct boot_info *bi)
{
	struct mem_range carve[4] = {
		{ bi->kernel_start, bi->kernel_end, E820_KERNEL },
		{ bi->boot_data_start, bi->boot_data_end, E820_BOOT },
		{ bi->stack_base, bi->stack_base + bi->stack_size, E820_BOOT },
		{ trampoline_base, trampoline_base + 4096, E820_KERNEL },
	};
	int n = (int)bi->e820_count;

	if (bi->e820_entry_size != sizeof(struct e820_entry))
		panic("boot record: E820 entries of %u bytes, expected %u",
		      bi->e820_entry_size, (unsigned)sizeof(struct e820_entry));
	if (n < 1 || n > E820_MAX_ENTRIES)
		panic("boot record: %d E820 entries", n);
	memcpy(memmap_raw, phys_to_virt(bi->e820_addr),
	       n * sizeof memmap_raw[0]);
	memmap_raw_count = n;
	kprintf("E820: %d entries from the BIOS, %u of them 20-byte answers\n",
		n, bi->e820_short);
	print_raw();
	if (bi->flags & BIF_E820_TRUNCATED)
		kprintf("(the BIOS had more entries; only %d kept)\n", n);

	memmap_count = e820_sanitise(memmap_raw, n, carve, 4, memmap,
				     E820_MAX_OUT);
	if (memmap_count < 0)
		panic("E820 sanitiser: %s", e820_strerror(memmap_count));
	print_sanitised();
	kprintf("Usable: %lu MiB\n",
		(unsigned long)(e820_usable_bytes(memmap, memmap_count) >> 20));
}
