/*
 * fwmap.h: the firmware window, where the kernel maps what is not RAM:
 * the firmware's ACPI tables (read-only) and the registers of devices
 * (uncached). fwmap.c explains it.
 */
#ifndef FWMAP_H
#define FWMAP_H

#include <stddef.h>
#include <stdint.h>

/* PML4 slot 507, 512 GiB: the first half holds tables at FW_TABLES +
 * physical address, the second device registers at FW_MMIO + physical
 * address, for physical addresses below FW_PHYS_LIMIT. */
#define FW_AREA       0xFFFFFD8000000000ull
#define FW_TABLES     FW_AREA
#define FW_MMIO       (FW_AREA + (256ull << 30))
#define FW_PHYS_LIMIT (256ull << 30)
#define FW_MAP_MAX    (4ull << 20)   /* the most one call maps */

/* Map [phys, phys + size) read-only, no-execute, cached, and return
 * the address of phys; NULL (with a message) when it cannot. Pages that
 * are mapped already are reused. The ACPI code's map hook. */
const void *fw_map_table(uint64_t phys, size_t size);

/* Map [phys, phys + size) read-write, no-execute, uncached (PAT entry
 * 3): device registers. NULL (with a message) for a range that holds
 * RAM. */
volatile void *fw_map_mmio(uint64_t phys, size_t size);

/* The name of the firmware window's part that holds va, or NULL. */
const char *fw_region_name(uint64_t va);

#endif /* FWMAP_H */
