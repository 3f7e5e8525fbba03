/*
 * acpi_setup.c: the kernel's side of the ACPI code: it hands the pure
 * parsers (acpi.c, madt.c) the firmware's memory, through the firmware
 * window, and keeps what they found.
 */
#include "acpi_setup.h"
#include "boot_alloc.h"
#include "fwmap.h"
#include "kprintf.h"
#include "lapic.h"

/**
 * ## Plugging the parsers in
 *
 * acpi.c and madt.c never touch memory they were not handed: the walk
 * calls a *map hook* for every range it wants to read, and an
 * *allocation hook* for its two arrays. Here the map hook is
 * fw_map_table(), which maps the range read-only in the firmware
 * window (fwmap.c) and returns its address there. The walk maps each table's 36-byte header first,
 * checks its Length (at least 36, at most 4 MiB), and only then maps
 * and reads the whole table; fw_map_table() reuses the header's pages.
 *
 * The steps, on the boot CPU:
 *
 * 1. Search for the RSDP: the first KiB of the EBDA, whose segment is
 *    the BIOS Data Area's word at 0x40E, then 0xE0000-0xFFFFF.
 * 2. Walk the root table (XSDT or RSDT) and check every table it
 *    lists; print one line per table.
 * 3. Read the MADT (`APIC`), check that it names the local APIC this
 *    CPU really has (lapic.c read the address from the CPU itself),
 *    and make the boot CPU, found by its APIC id, CPU index 0.
 *
 * On any failure the kernel goes on with the boot CPU alone, and the
 * MADT's line says why. The tables are written once, here, before any
 * other CPU runs, and only read afterwards: they need no lock.
 */
static struct acpi_tables acpi;
static struct madt madt;
static int madt_err = ACPI_E_NOT_FOUND;

/* The tables' list and the MADT's arrays are kept for good. */
static void *alloc(size_t size)
{
	return boot_alloc(size, 16);
}

static int rsdp_search(struct acpi_rsdp *rsdp)               /* 1. */
{
	const uint8_t *bda = fw_map_table(0x400, 0x100);
	const uint8_t *p;
	uint64_t base;
	size_t size;
	int err = ACPI_E_NOT_FOUND;

	if (bda != NULL &&
	    acpi_ebda_area(acpi_get16(bda + ACPI_EBDA_SEGMENT_PTR - 0x400),
			   &base, &size) == ACPI_OK &&
	    (p = fw_map_table(base, size)) != NULL)
		err = acpi_rsdp_find(p, size, base, rsdp);
	if (err != ACPI_OK &&
	    (p = fw_map_table(ACPI_BIOS_AREA, ACPI_BIOS_AREA_SIZE)) != NULL)
		err = acpi_rsdp_find(p, ACPI_BIOS_AREA_SIZE, ACPI_BIOS_AREA,
				     rsdp);
	return err;
}

void acpi_setup(void)
{
	const struct acpi_env env = { fw_map_table, alloc };
	const struct acpi_table *t;
	struct acpi_rsdp rsdp;
	int err;

	err = rsdp_search(&rsdp);
	if (err != ACPI_OK) {
		kprintf("ACPI: no RSDP found (%s)\n", acpi_strerror(err));
		return;
	}
	err = acpi_tables_load(&rsdp, &env, &acpi);                  /* 2. */
	acpi_print_tables(&acpi, kprintf);
	if (err != ACPI_OK)
		return;
	t = acpi_table_find(&acpi, "APIC");                          /* 3. */
	err = t ? madt_load(t->data, t->hdr.length, alloc, &madt)
		: ACPI_E_NOT_FOUND;
	if (err == ACPI_OK && madt.lapic_address != lapic_base())
		kprintf("MADT: says the local APIC is at %lx, the CPU says "
			"%lx; using the CPU's\n",
			(unsigned long)madt.lapic_address,
			(unsigned long)lapic_base());
	if (err == ACPI_OK && madt_set_boot_cpu(&madt, lapic_id()) !=
	    ACPI_OK) {
		kprintf("MADT: no enabled CPU has the boot CPU's APIC id "
			"%u\n", lapic_id());
		err = ACPI_E_NOT_FOUND;
	}
	madt_print_summary(&madt, err, kprintf);
	madt_err = err;
	if (err != ACPI_OK)
		kprintf("MADT: running on the boot CPU alone\n");
}

const struct madt *acpi_madt(void)
{
	return madt_err == ACPI_OK ? &madt : NULL;
}

const struct acpi_table *acpi_find(const char *sig)
{
	return acpi_table_find(&acpi, sig);
}
