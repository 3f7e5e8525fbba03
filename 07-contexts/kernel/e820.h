/*
 * e820.h: the firmware's memory map, and the tidy map the kernel uses.
 *
 * The bootloader asks the BIOS for the memory map (INT 15h, EAX=E820h)
 * and leaves the raw answers in memory. e820.c turns that raw list into
 * a sanitised map: sorted, no overlaps, one type per address. Users: the
 * boot code in kmain, later the frame allocator.
 */

#ifndef E820_H
#define E820_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bootinfo.h"   /* E820_MAX_ENTRIES: the loader's bound */

/**
 * ## The raw map: what the BIOS gives us
 *
 * Each answer to INT 15h, EAX=E820h describes one *address range*: a
 * start address, a length in bytes, a type and (since ACPI 3.0) a
 * 32-bit "extended attributes" word. The bootloader stores the answers
 * back to back, 24 bytes each, exactly as `struct e820_entry` below.
 *
 * The type numbers come from the ACPI specification, chapter "System
 * Address Map Interfaces", table "Address Range Types". The spec's name
 * for each is in the comment beside it.
 */

#define E820_USABLE   1  /* AddressRangeMemory: RAM the OS may use */
#define E820_RESERVED 2  /* AddressRangeReserved: do not touch */
#define E820_ACPI     3  /* AddressRangeACPI: ACPI tables; reclaimable
                            once the OS has read them */
#define E820_NVS      4  /* AddressRangeNVS: firmware state kept across
                            sleep; never usable */
#define E820_UNUSABLE 5  /* AddressRangeUnusable: RAM with errors */

/* Types that exist only in our sanitised map, never in a BIOS answer. */
#define E820_KERNEL 0x100  /* the kernel image */
#define E820_BOOT   0x101  /* boot record, E820 buffer, temporary page
                              tables, boot stack */

/* Extended attributes, bit 0 (ACPI 3.0): "this entry is valid". When it
 * is clear the OS must ignore the entry. (ACPI 4.0 on: "must be 1".) */
#define E820_ATTR_VALID 1u

struct e820_entry {
	uint64_t base;    /* first byte of the range */
	uint64_t length;  /* in bytes; may be 0 (meaning: no range) */
	uint32_t type;    /* E820_USABLE ... E820_UNUSABLE, or other */
	uint32_t acpi;    /* extended attributes (E820_ATTR_VALID) */
} __attribute__((packed));

_Static_assert(sizeof(struct e820_entry) == 24,
	       "the bootloader stores 24-byte entries");

/**
 * ## The sanitised map: what the kernel uses
 *
 * A `struct mem_range` covers the addresses `base <= a < end`. The end
 * is *exclusive*, so a range's size is simply `end - base` and two
 * ranges touch exactly when one's `end` equals the other's `base`.
 *
 * The kernel passes its own ranges to the sanitiser as *carve* ranges
 * of type E820_KERNEL or E820_BOOT, so that the map it gets back already
 * says "this RAM is taken". At most E820_MAX_CARVE of them.
 *
 * How big can the result be? Every input range adds at most two
 * boundary addresses; `b` boundaries cut the address line into at most
 * `b - 1` pieces, and the sanitiser only ever merges or shrinks pieces.
 * So `2 * (inputs + carves) - 1` ranges always suffice; E820_MAX_OUT
 * keeps two spare slots on top of that.
 */

#define E820_MAX_CARVE 8
#define E820_MAX_OUT   (2 * (E820_MAX_ENTRIES + E820_MAX_CARVE) + 1)

struct mem_range {
	uint64_t base;  /* first byte */
	uint64_t end;   /* one past the last byte (exclusive) */
	uint32_t type;  /* E820_USABLE ... E820_UNUSABLE, E820_KERNEL,
	                   E820_BOOT */
};

/* Error codes (all negative) returned by e820_sanitise(). */
#define E820_ERR_TOO_MANY   (-1)  /* n_in < 0 or > E820_MAX_ENTRIES */
#define E820_ERR_CARVE_MANY (-2)  /* n_carve < 0 or > E820_MAX_CARVE */
#define E820_ERR_CARVE_TYPE (-3)  /* a carve is not KERNEL or BOOT */
#define E820_ERR_NO_ROOM    (-4)  /* the result needs > max_out slots */

/*
 * Build the sanitised map from n_in raw entries and n_carve carve
 * ranges. Returns the number of ranges written to out, or a negative
 * E820_ERR_* code. Never writes past out[max_out - 1]; on error the
 * contents of out are unspecified.
 * Preconditions: in points to n_in entries, carve to n_carve ranges.
 * Uses no static data: callable from anywhere, any number of times.
 */
int e820_sanitise(const struct e820_entry *in, int n_in,
		  const struct mem_range *carve, int n_carve,
		  struct mem_range *out, int max_out);

/*
 * Check that m[0..n-1] has every property a sanitised map promises.
 * Returns 0 if so; otherwise -1, and a short reason such as
 * "range 4: overlaps the previous range" is written to why (always
 * NUL-terminated, at most len bytes; why may be NULL if len is 0).
 */
int e820_check(const struct mem_range *m, int n, char *why, size_t len);

/* Total bytes in the E820_USABLE ranges of m[0..n-1]. */
uint64_t e820_usable_bytes(const struct mem_range *m, int n);

/* Is a range of this type RAM, in use or not? Usable, kernel, boot and
 * both ACPI types are; reserved and unusable ranges (and holes) hold
 * devices, firmware or nothing. */
bool e820_is_ram(uint32_t type);

/* The end of the highest RAM range of m[0..n-1], 0 if there is none:
 * every frame that could ever be handed out lies below it (ACPI
 * reclaimable memory included, which becomes usable later). */
uint64_t e820_ram_end(const struct mem_range *m, int n);

/* "usable", "reserved", ... ; any unknown type reads "reserved". */
const char *e820_type_name(uint32_t type);

/* A short description of an E820_ERR_* code. */
const char *e820_strerror(int err);

#endif /* E820_H */
