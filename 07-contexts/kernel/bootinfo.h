/*
 * bootinfo.h: the contract between the bootloader and the kernel.
 *
 * Both sides include this file: the kernel as C, the bootloader through
 * build/bootinfo.inc, which the Makefile makes by turning every
 * "#define NAME VALUE" line below into "%define NAME VALUE" for NASM.
 * So every value here must be a plain number or an expression that both
 * C and NASM understand, and it must fit on its one line.
 */
#ifndef BOOTINFO_H
#define BOOTINFO_H

/**
 * ## The boot record
 *
 * When the bootloader jumps to the kernel it hands over one pointer, in
 * RDI: the physical address of a *boot record*. The record says where the
 * kernel was loaded, which stack it is running on, where the BIOS memory
 * map is and which disk we booted from. Everything the kernel knows about
 * the machine at this point comes from this record, so it starts with a
 * magic number and a version that the kernel checks before trusting the
 * rest.
 *
 * Redox 0.3.5 passes six bare numbers (kernel base and size, stack base
 * and size, environment base and size) and finds the memory map at a
 * fixed address (0x500). We put the map's address and entry count in the
 * record instead, so the kernel never has to know the bootloader's
 * private layout, and a version field lets the two sides evolve apart.
 *
 * All addresses in the record are *physical*. The kernel reads them
 * through its window at KERNEL_WINDOW (see below).
 */

/* Magic: the bytes 'K','B','O','T' read as a little-endian u32. */
#define BOOTINFO_MAGIC 0x544F424B
#define BOOTINFO_VERSION 1

/* Byte offsets of the record's fields, for the NASM side. The C struct
 * below must agree; kernel/main.c checks that with _Static_assert. */
#define BI_MAGIC 0
#define BI_VERSION 4
#define BI_KERNEL_START 8
#define BI_KERNEL_END 16
#define BI_KERNEL_ENTRY 24
#define BI_STACK_BASE 32
#define BI_STACK_SIZE 40
#define BI_BOOT_DATA_START 48
#define BI_BOOT_DATA_END 56
#define BI_E820_ADDR 64
#define BI_E820_COUNT 72
#define BI_E820_ENTRY_SIZE 76
#define BI_E820_SHORT 80
#define BI_FLAGS 84
#define BI_BOOT_DRIVE 88
#define BI_SIZE 96

/* BI_FLAGS bits */
#define BIF_E820_TRUNCATED 1

/**
 * ## Low memory during boot
 *
 * Below 1 MiB the PC is crowded: the real-mode interrupt table and BIOS
 * data area sit at 0-0x4FF, the boot sector is loaded at 0x7C00, the
 * extended BIOS data area starts just below 640 KiB (0x9FC00 on QEMU),
 * and 0xA0000-0xFFFFF belongs to video memory and ROMs. The bootloader
 * uses the free gaps like this:
 *
 *     0x01000  boot record, then the raw E820 entries
 *     0x02000  temporary page tables: PML4, PDPT, PD (3 pages)
 *     0x05000  real-mode stack, growing down from 0x7C00
 *     0x07C00  stage 1 (the boot sector)
 *     0x07E00  stage 2
 *     0x10000  disk bounce buffer (the BIOS reads only below 1 MiB)
 *     0x80000  the kernel's boot stack, up to 0x9F000
 *
 * The kernel itself goes to 1 MiB (KERNEL_PHYS). The record, the map and
 * the tables form the "boot data" range, which the kernel must not hand
 * out as free memory until it has copied what it needs.
 */
#define BOOTINFO_ADDR 0x1000
#define E820_BUF_ADDR 0x1100
#define BOOT_PT_ADDR 0x2000
#define BOOT_DATA_END 0x5000
#define STAGE2_ADDR 0x7E00
#define DISK_BUF_ADDR 0x10000
#define BOOT_STACK_BASE 0x80000
#define BOOT_STACK_TOP 0x9F000

/* The most raw E820 entries the bootloader stores (24 bytes each). */
#define E820_MAX_ENTRIES 128
#define E820_ENTRY_SIZE 24

/* Where the kernel image goes, and the virtual window that maps
 * physical memory from address 0 upward (PML4 slot 510). */
#define KERNEL_PHYS 0x100000
#define KERNEL_WINDOW 0xFFFFFF0000000000
/* The temporary tables map this much, identity and through the window. */
#define BOOT_MAPPED_BYTES 0x40000000

/* isa-debug-exit: the port, and the values the tests agree on. QEMU
 * exits with status (value << 1) | 1, so 0x10 gives 33 and 0x11 gives 35.
 * Without the device, writing to the port does nothing at all. */
#define DEBUG_EXIT_PORT 0xF4
#define DEBUG_EXIT_PASS 0x10
#define DEBUG_EXIT_FAIL 0x11

#ifndef __ASSEMBLER__
#include <stdint.h>

struct boot_info {
	uint32_t magic;            /* BOOTINFO_MAGIC */
	uint32_t version;          /* BOOTINFO_VERSION */
	uint64_t kernel_start;     /* lowest physical byte of the image */
	uint64_t kernel_end;       /* first physical byte after it */
	uint64_t kernel_entry;     /* ELF e_entry (a virtual address) */
	uint64_t stack_base;       /* boot stack, physical, lowest byte */
	uint64_t stack_size;       /* in bytes; RSP started at the top */
	uint64_t boot_data_start;  /* record + E820 buffer + page tables */
	uint64_t boot_data_end;
	uint64_t e820_addr;        /* physical address of the raw entries */
	uint32_t e820_count;       /* how many entries the BIOS gave */
	uint32_t e820_entry_size;  /* bytes per stored entry (24) */
	uint32_t e820_short;       /* answers of 20 bytes (no ACPI dword) */
	uint32_t flags;            /* BIF_* */
	uint32_t boot_drive;       /* BIOS drive number, e.g. 0x80 */
	uint32_t reserved;
};

/* The kernel reaches physical memory through its window. */
static inline void *phys_to_virt(uint64_t phys)
{
	return (void *)(phys + KERNEL_WINDOW);
}

static inline uint64_t virt_to_phys(const void *virt)
{
	return (uint64_t)virt - KERNEL_WINDOW;
}
#endif

#endif
