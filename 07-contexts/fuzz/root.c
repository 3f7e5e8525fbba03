/*
 * fuzz/root.c: fuzz target for table headers and root tables:
 * acpi_header_read(), acpi_table_check(), acpi_root_check() and
 * acpi_root_entry(), as an RSDT and as an XSDT.
 *
 * The input is one table. Besides the input as it is, the target
 * checks a repaired copy, signature and checksum made right, and then
 * knows the answer: a root table is valid exactly when its Length is
 * 36 plus whole entries, at most ACPI_ROOT_MAX, and fits. Seeds:
 * QEMU's RSDTs and every other QEMU table.
 */
#include "fuzz.h"

static void root(const uint8_t *t, size_t size, unsigned entry_size,
		 bool repaired)
{
	struct acpi_header h;
	size_t count = 0;
	int err = acpi_root_check(t, size, entry_size, &count);
	int herr = acpi_header_read(t, size, &h);

	FUZZ_CHECK(err >= ACPI_OK && err <= ACPI_E_FULL);
	if (err == ACPI_OK) {
		FUZZ_CHECK(herr == ACPI_OK && h.length <= size);
		FUZZ_CHECK(h.length == ACPI_HEADER_SIZE + count * entry_size);
		FUZZ_CHECK(count <= ACPI_ROOT_MAX);
		for (size_t i = 0; i < count; i++)
			(void)acpi_root_entry(t, entry_size, i);
	}
	if (repaired && herr == ACPI_OK && h.length <= size) {
		size_t body = h.length - ACPI_HEADER_SIZE;
		bool valid = body % entry_size == 0 &&
			     body / entry_size <= ACPI_ROOT_MAX;

		FUZZ_CHECK((err == ACPI_OK) == valid);
	}
}

void fuzz_root(const uint8_t *data, size_t size)
{
	static const char *sigs[] = { "RSDT", "XSDT" };
	uint8_t *copy = malloc(size ? size : 1);

	for (unsigned k = 0; k < 2; k++) {
		unsigned entry_size = k ? 8 : 4;

		root(data, size, entry_size, false);
		(void)acpi_table_check(data, size, NULL, NULL);
		memcpy(copy, data, size);
		if (size >= ACPI_HEADER_SIZE) {
			memcpy(copy, sigs[k], 4);
			fuzz_fix_table(copy, size);
		}
		root(copy, size, entry_size, true);
	}
	free(copy);
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_root(data, size);
	return 0;
}
#endif
