/*
 * fuzz/rsdp.c: fuzz target for the RSDP: acpi_rsdp_check(),
 * acpi_rsdp_find() and acpi_ebda_area().
 *
 * The input is a search area at physical address 0xE0000 plus 0 to 15
 * (the last byte's low bits, so that areas not on a 16-byte boundary
 * are searched too). Seeds: QEMU's RSDPs and the hand-made ones.
 */
#include "fuzz.h"

static void check_found(const uint8_t *area, size_t size, uint64_t phys,
			const struct acpi_rsdp *r)
{
	struct acpi_rsdp again;
	uint64_t off = r->phys - phys;

	FUZZ_CHECK((r->phys & 15) == 0 && r->phys >= phys && off < size);
	FUZZ_CHECK(r->length <= size - off);
	FUZZ_CHECK(r->revision >= 2 ? r->length >= ACPI_RSDP_V2_SIZE
				    : r->length == ACPI_RSDP_V1_SIZE &&
				      r->xsdt == 0);
	FUZZ_CHECK(acpi_rsdp_check(area + off, size - off, r->phys,
				   &again) == ACPI_OK);
	FUZZ_CHECK(again.rsdt == r->rsdt && again.xsdt == r->xsdt);
}

static void search(const uint8_t *area, size_t size, uint64_t phys)
{
	struct acpi_rsdp r;
	struct acpi_tables t = { .count = 0 };
	int err = acpi_rsdp_find(area, size, phys, &r);

	FUZZ_CHECK(err == ACPI_OK || err == ACPI_E_NOT_FOUND);
	FUZZ_CHECK(r.rejected <= size / 16 + 1);
	FUZZ_CHECK(r.rejected == 0 || (r.rejected_err != ACPI_OK &&
				       (r.rejected_phys & 15) == 0));
	if (err == ACPI_OK) {
		check_found(area, size, phys, &r);
		t.rsdp = r;
		fuzz_print_begin();
		acpi_print_tables(&t, fuzz_print);
		fuzz_print_end();
	}
}

void fuzz_rsdp(const uint8_t *data, size_t size)
{
	uint64_t phys = ACPI_BIOS_AREA + (size > 0 ? data[size - 1] & 15 : 0);
	uint64_t base;
	size_t ebda_size;
	struct acpi_rsdp r;
	uint8_t *copy;

	/* The structure at the start of the input, as it is. */
	if (acpi_rsdp_check(data, size, phys, &r) == ACPI_OK)
		FUZZ_CHECK(r.length <= size && r.phys == phys);
	search(data, size, phys);

	/* With every candidate's checksums repaired. */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	for (size_t off = (16 - (phys & 15)) & 15; off + 8 <= size; off += 16)
		if (memcmp(copy + off, "RSD PTR ", 8) == 0)
			fuzz_fix_rsdp(copy + off, size - off);
	fuzz_fix_rsdp(copy, size);
	if (acpi_rsdp_check(copy, size, phys, &r) == ACPI_OK)
		FUZZ_CHECK(r.length <= size);
	search(copy, size, phys);
	free(copy);

	/* The first two bytes as the BDA's EBDA segment. */
	if (size >= 2 && acpi_ebda_area(acpi_get16(data), &base,
					&ebda_size) == ACPI_OK)
		FUZZ_CHECK(base >= 0x500 && ebda_size > 0 &&
			   ebda_size <= ACPI_EBDA_SEARCH &&
			   base + ebda_size <= 0xA0000);
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_rsdp(data, size);
	return 0;
}
#endif
