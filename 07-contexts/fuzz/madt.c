/*
 * fuzz/madt.c: fuzz target for the MADT parser: madt_count(),
 * madt_parse(), madt_load(), madt_set_boot_cpu() and the printing.
 *
 * The input is one MADT. Three runs per input: as it is; signature and
 * checksum repaired; and repaired with Length set to the input's size.
 * For the repaired runs the target walks the records itself, with the
 * rules of madt.c written out again, and checks that the parser stops
 * at the same record for the same reason, or succeeds with the same
 * counts. The parse into the caller's arrays (madt_parse()) must give
 * the same CPU list as madt_load(). Seeds: QEMU's MADTs and the
 * hand-made ones.
 */
#include "fuzz.h"

/* The spec size of each record type madt.c reads (2 for others). */
static unsigned spec_size(uint8_t type)
{
	static const uint8_t size[10] = { 8, 12, 10, 2, 6, 12, 2, 2, 2, 16 };

	return type < 10 ? size[type] : 2;
}

/* The independent walk: the offset of the first bad record, or 0 if
 * all are good; *records counts the good ones. */
static uint32_t first_bad(const uint8_t *t, uint32_t len, size_t *records)
{
	uint32_t off = MADT_HEADER_SIZE;

	*records = 0;
	while (off < len) {
		if (off + 2 > len || t[off + 1] < spec_size(t[off]) ||
		    off + t[off + 1] > len)
			return off;
		off += t[off + 1];
		++*records;
	}
	return 0;
}

static void compare_with_walk(const uint8_t *t, size_t size)
{
	struct madt m;
	struct madt_counts c;
	uint32_t len, bad;
	size_t records;
	int err;

	if (size < MADT_HEADER_SIZE)
		return;
	len = acpi_get32(t + 4);
	if (len < MADT_HEADER_SIZE || len > size || len > ACPI_TABLE_MAX)
		return;
	memset(&m, 0, sizeof m);
	err = madt_count(t, size, &c, &m);
	bad = first_bad(t, len, &records);
	if (bad != 0) {
		FUZZ_CHECK(err == ACPI_E_RECORD && m.bad_offset == bad);
		return;
	}
	FUZZ_CHECK(err == ACPI_OK || (err == ACPI_E_FULL &&
				      c.cpus > MADT_MAX_CPUS));
	FUZZ_CHECK(c.cpus + c.ioapics + c.overrides + c.nmis <= records);
	FUZZ_CHECK(c.enabled <= c.cpus);
}

/* madt_parse() into arrays of exactly the counted sizes must agree
 * with madt_load(). */
static void compare_parse_with_load(const uint8_t *t, size_t size)
{
	struct madt_counts c;
	struct madt a = { 0 }, b;
	int err;

	if (madt_count(t, size, &c, NULL) != ACPI_OK)
		return;
	a.cpu = malloc((c.cpus + 1) * sizeof *a.cpu);
	a.cpu_cap = c.cpus;
	a.ioapic = malloc((c.ioapics + 1) * sizeof *a.ioapic);
	a.ioapic_cap = c.ioapics;
	a.override = malloc((c.overrides + 1) * sizeof *a.override);
	a.override_cap = c.overrides;
	a.nmi = malloc((c.nmis + 1) * sizeof *a.nmi);
	a.nmi_cap = c.nmis;
	err = madt_parse(t, size, &a);
	FUZZ_CHECK(err == ACPI_OK);
	FUZZ_CHECK(madt_load(t, size, fuzz_alloc, &b) == ACPI_OK);
	FUZZ_CHECK(a.ncpu == b.ncpu && a.nenabled == b.nenabled &&
		   a.nioapic == b.nioapic && a.noverride == b.noverride &&
		   a.nnmi == b.nnmi && a.lapic_address == b.lapic_address);
	for (size_t i = 0; i < a.ncpu; i++)
		FUZZ_CHECK(a.cpu[i].apic_id == b.cpu[i].apic_id &&
			   a.cpu[i].uid == b.cpu[i].uid &&
			   a.cpu[i].flags == b.cpu[i].flags);
	if (c.cpus > 0) {          /* one slot too few: refused */
		a.cpu_cap = c.cpus - 1;
		FUZZ_CHECK(madt_parse(t, size, &a) == ACPI_E_FULL);
	}
	free(a.cpu);
	free(a.ioapic);
	free(a.override);
	free(a.nmi);
	fuzz_free_all();
}

void fuzz_madt(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	fuzz_madt_bytes(data, size);
	memcpy(copy, data, size);
	if (size >= ACPI_HEADER_SIZE) {
		memcpy(copy, "APIC", 4);
		fuzz_fix_table(copy, size);
		fuzz_madt_bytes(copy, size);
		compare_with_walk(copy, size);
		compare_parse_with_load(copy, size);
		if (size <= ACPI_TABLE_MAX) {
			for (int i = 0; i < 4; i++)
				copy[4 + i] = (uint8_t)(size >> 8 * i);
			fuzz_fix_table(copy, size);
			fuzz_madt_bytes(copy, size);
			compare_with_walk(copy, size);
			compare_parse_with_load(copy, size);
		}
	}
	free(copy);
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_madt(data, size);
	return 0;
}
#endif
