/*
 * fuzz/chain.c: fuzz target for the whole walk: acpi_rsdp_find() over
 * a memory image's first segment, acpi_tables_load() through the map
 * hook, acpi_print_tables(), and the MADT it finds.
 *
 * The input is a memory image (tests/host/acpi_mem.h): segments of
 * physical memory, the first one searched for the RSDP. The target
 * walks the image twice: as it is, and after repairing, along the
 * chain, the checksums of the RSDP, the root tables and every table
 * they point at that the image holds. Seeds: QEMU's memory.bin
 * images and the hand-made chains of test_acpi.
 *
 * The map hook hands the walk a fresh copy of exactly the bytes it
 * asked for, in its own allocation, so AddressSanitizer catches any
 * read past what was mapped: the walk must read a table only through
 * a mapping of its whole Length.
 */
#include "fuzz.h"

#define MAPS_MAX (2 * ACPI_ROOT_MAX + 8)
static void *maps[MAPS_MAX];
static size_t nmaps;

static const void *exact_map(uint64_t phys, size_t size)
{
	const void *p = mem_map(phys, size);
	void *copy;

	if (p == NULL || nmaps == MAPS_MAX)
		return NULL;
	copy = malloc(size);
	memcpy(copy, p, size);
	maps[nmaps++] = copy;
	return copy;
}

static void unmap_all(void)
{
	for (size_t i = 0; i < nmaps; i++)
		free(maps[i]);
	nmaps = 0;
}

/* Repair the table at phys, if the image holds its header and all of
 * its Length. */
static void repair_at(struct mem *m, uint64_t phys)
{
	for (size_t i = 0; i < m->n; i++) {
		struct mem_seg *s = &m->seg[i];

		if (phys >= s->phys && phys - s->phys < s->size)
			fuzz_fix_table(s->bytes + (phys - s->phys),
				       s->size - (phys - s->phys));
	}
}

static const uint8_t *bytes_at(struct mem *m, uint64_t phys, size_t size)
{
	mem_use(m);
	return mem_map(phys, size);
}

static void repair_root(struct mem *m, uint64_t phys, unsigned entry_size)
{
	const uint8_t *t;
	uint32_t len;

	repair_at(m, phys);
	t = bytes_at(m, phys, ACPI_HEADER_SIZE);
	if (t == NULL)
		return;
	len = acpi_get32(t + 4);
	if (len < ACPI_HEADER_SIZE || len > ACPI_TABLE_MAX ||
	    bytes_at(m, phys, len) == NULL)
		return;
	for (uint32_t off = ACPI_HEADER_SIZE; off + entry_size <= len;
	     off += entry_size)
		repair_at(m, entry_size == 8 ? acpi_get64(t + off)
					     : acpi_get32(t + off));
	repair_at(m, phys);        /* an entry may point at the root */
}

static void repair(struct mem *m)
{
	struct mem_seg *s = &m->seg[0];
	struct acpi_rsdp r;

	for (size_t off = (16 - (s->phys & 15)) & 15; off + 8 <= s->size;
	     off += 16)
		if (memcmp(s->bytes + off, "RSD PTR ", 8) == 0)
			fuzz_fix_rsdp(s->bytes + off, s->size - off);
	if (acpi_rsdp_find(s->bytes, s->size, s->phys, &r) != ACPI_OK)
		return;
	if (r.xsdt != 0)
		repair_root(m, r.xsdt, 8);
	if (r.rsdt != 0)
		repair_root(m, r.rsdt, 4);
}

static void check_table(const struct acpi_table *t)
{
	if (t->err != ACPI_OK) {
		FUZZ_CHECK(t->data == NULL);
		return;
	}
	FUZZ_CHECK(t->data != NULL && t->have_header);
	FUZZ_CHECK(acpi_table_check(t->data, t->hdr.length, NULL, NULL) ==
		   ACPI_OK);
}

static void walk(struct mem *m)
{
	struct acpi_rsdp r;
	struct acpi_tables t;
	const struct acpi_table *apic;
	int err;

	if (m->n == 0 || acpi_rsdp_find(m->seg[0].bytes, m->seg[0].size,
					m->seg[0].phys, &r) != ACPI_OK)
		return;
	mem_use(m);
	err = acpi_tables_load(&r, &(struct acpi_env){ exact_map,
						       fuzz_alloc }, &t);
	FUZZ_CHECK(err >= ACPI_OK && err <= ACPI_E_FULL);
	/* Every request to the map hook: a header first, never a range
	 * that wraps or exceeds the limit. */
	for (size_t k = 0; k < mem_log_n && k < MEM_LOG_MAX; k++) {
		FUZZ_CHECK(mem_log[k].size >= ACPI_HEADER_SIZE &&
			   mem_log[k].size <= ACPI_TABLE_MAX);
		FUZZ_CHECK(mem_log[k].phys <= UINT64_MAX - mem_log[k].size);
		if (mem_log[k].size != ACPI_HEADER_SIZE)
			FUZZ_CHECK(k > 0 && mem_log[k - 1].phys ==
				   mem_log[k].phys);
	}
	if (err == ACPI_OK) {
		const struct acpi_table *root = t.use_xsdt ? &t.xsdt : &t.rsdt;

		FUZZ_CHECK(root->err == ACPI_OK && root->data != NULL);
		FUZZ_CHECK(t.count <= ACPI_ROOT_MAX);
		for (size_t i = 0; i < t.count; i++)
			check_table(&t.table[i]);
	} else {
		FUZZ_CHECK(t.count == 0 && t.table == NULL);
	}
	if (t.xsdt.phys != 0)           /* phys 0: not tried */
		check_table(&t.xsdt);
	if (t.rsdt.phys != 0)
		check_table(&t.rsdt);
	fuzz_print_begin();
	acpi_print_tables(&t, fuzz_print);
	fuzz_print_end();
	apic = acpi_table_find(&t, "APIC");
	if (apic != NULL) {
		FUZZ_CHECK(memcmp(apic->hdr.sig, "APIC", 4) == 0);
		fuzz_madt_bytes(apic->data, apic->hdr.length);
	}
	fuzz_free_all();
	unmap_all();
}

void fuzz_chain(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct mem m;

	memcpy(copy, data, size);
	mem_parse(&m, copy, size);
	walk(&m);
	repair(&m);
	walk(&m);
	mem_use(NULL);
	free(copy);
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_chain(data, size);
	return 0;
}
#endif
