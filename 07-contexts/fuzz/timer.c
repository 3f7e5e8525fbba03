/*
 * fuzz/timer.c: fuzz target for the timer tables: acpi_fadt_pm_timer()
 * and acpi_hpet_parse() (kernel/acpi_timer.c).
 *
 * The input is one table, read as a FADT and as an HPET table, as it
 * is and repaired (signature and checksum made right). On success the
 * results must be what the bytes say: a port that a 32-bit register
 * fits below 64 KiB, a width of 24 or 32 bits that follows the
 * TMR_VAL_EXT flag, and an HPET address that is not 0. Seeds: QEMU's
 * FADTs and HPET tables.
 */
#include "fuzz.h"

static void pm_timer(const uint8_t *t, size_t size)
{
	struct acpi_pm_timer pm;
	int err = acpi_fadt_pm_timer(t, size, &pm);

	FUZZ_CHECK(err >= ACPI_OK && err <= ACPI_E_UNSUPPORTED);
	if (err != ACPI_OK)
		return;
	FUZZ_CHECK(acpi_table_check(t, size, "FACP", NULL) == ACPI_OK);
	FUZZ_CHECK(pm.port != 0 && pm.port <= 0xFFFC);
	FUZZ_CHECK(pm.bits == 24 || pm.bits == 32);
	FUZZ_CHECK(pm.bits == 24 || (acpi_get32(t + 4) >= FADT_FLAGS + 4 &&
				     (t[FADT_FLAGS + 1] & 1)));
	FUZZ_CHECK(pm.from_x == 0 || pm.from_x == 1);
	FUZZ_CHECK(pm.from_x || acpi_get32(t + FADT_PM_TMR_BLK) == pm.port);
}

static void hpet(const uint8_t *t, size_t size)
{
	struct acpi_hpet h;
	int err = acpi_hpet_parse(t, size, &h);

	FUZZ_CHECK(err >= ACPI_OK && err <= ACPI_E_UNSUPPORTED);
	if (err != ACPI_OK)
		return;
	FUZZ_CHECK(size >= HPET_TABLE_SIZE && h.address != 0);
	FUZZ_CHECK(h.address == acpi_get64(t + 44));
}

void fuzz_timer(const uint8_t *data, size_t size)
{
	static const char *sigs[] = { "FACP", "HPET" };
	uint8_t *copy = malloc(size ? size : 1);

	pm_timer(data, size);
	hpet(data, size);
	for (unsigned k = 0; k < 2; k++) {
		memcpy(copy, data, size);
		if (size >= ACPI_HEADER_SIZE) {
			memcpy(copy, sigs[k], 4);
			fuzz_fix_table(copy, size);
		}
		pm_timer(copy, size);
		hpet(copy, size);
	}
	free(copy);
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_timer(data, size);
	return 0;
}
#endif
