/*
 * fuzz.h: what the five fuzz targets share (fuzz/rsdp.c, root.c,
 * madt.c, chain.c, timer.c).
 *
 * Each target is a libFuzzer entry point, LLVMFuzzerTestOneInput(),
 * over one parser, built with clang -fsanitize=fuzzer,address,undefined
 * (fuzz/fuzz.mk). Besides the sanitizers' checks, every target checks
 * the parser's promises on every input (FUZZ_CHECK: a broken promise
 * aborts, and libFuzzer saves the input as a crash):
 *
 * - whatever the bytes, the parser returns one of its error codes;
 * - on success, the results obey the invariants in acpi.h and madt.h;
 * - the printing helpers print only printable ASCII and newlines,
 *   through the kernel's own kvsnprintf().
 *
 * A random table almost never has a right checksum, so the parsers
 * would reject nearly every input at the first check. Each target
 * therefore runs its parser twice: on the input as it is, and on a
 * copy whose checksums the target has *repaired* (and sometimes whose
 * Length it has set to the input's size), which takes the fuzzer past
 * the checksums into the records.
 *
 * This file includes the kernel files under test, once, so that
 * tests/host/test_fuzz_inputs.c can include all five targets in one
 * program; with FUZZ_NO_ENTRY defined, the targets define only their
 * fuzz_<target>() functions.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../kernel/acpi.c"
#include "../kernel/madt.c"
#include "../kernel/acpi_timer.c"
#include "format.c"
#include "../tests/host/acpi_mem.h"

/* Everything here is static; a target uses what it needs. */
#define FUZZ_API static __attribute__((unused))

/* The input being run, when a program other than libFuzzer runs the
 * targets (tests/host/test_fuzz_inputs.c), for the failure message. */
static const char *fuzz_input_name;

#define FUZZ_CHECK(cond)                                                 \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed%s%s\n", \
				__FILE__, __LINE__, #cond,               \
				fuzz_input_name ? " on " : "",           \
				fuzz_input_name ? fuzz_input_name : ""); \
			abort();                                         \
		}                                                        \
	} while (0)

/* ---- Printing: into a buffer, then checked ---- */

static char fuzz_out[1 << 16];
static size_t fuzz_out_len;

FUZZ_API __attribute__((format(printf, 1, 2)))
int fuzz_print(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(fuzz_out + fuzz_out_len,
		       sizeof fuzz_out - fuzz_out_len, fmt, ap);
	va_end(ap);
	FUZZ_CHECK(n >= 0);
	fuzz_out_len += (size_t)n < sizeof fuzz_out - fuzz_out_len ?
			(size_t)n : sizeof fuzz_out - fuzz_out_len - 1;
	return n;
}

/* Start collecting output. */
FUZZ_API void fuzz_print_begin(void)
{
	fuzz_out_len = 0;
	fuzz_out[0] = '\0';
}

/* Check what was printed: printable ASCII in lines ending with '\n'. */
FUZZ_API void fuzz_print_end(void)
{
	for (size_t i = 0; i < fuzz_out_len; i++) {
		unsigned char c = (unsigned char)fuzz_out[i];

		FUZZ_CHECK((c >= 0x20 && c < 0x7F) || c == '\n');
	}
	FUZZ_CHECK(fuzz_out_len == 0 || fuzz_out[fuzz_out_len - 1] == '\n');
}

/* ---- Allocation: malloc, all freed after each input ---- */

#define FUZZ_ALLOCS 16
static void *fuzz_allocs[FUZZ_ALLOCS];
static size_t fuzz_nallocs;

FUZZ_API void *fuzz_alloc(size_t size)
{
	void *p;

	FUZZ_CHECK(size > 0 && size <= 64u << 20);
	if (fuzz_nallocs == FUZZ_ALLOCS)
		return NULL;
	p = malloc(size);
	fuzz_allocs[fuzz_nallocs++] = p;
	return p;
}

FUZZ_API void fuzz_free_all(void)
{
	for (size_t i = 0; i < fuzz_nallocs; i++)
		free(fuzz_allocs[i]);
	fuzz_nallocs = 0;
}

/* ---- Repairs ---- */

/* Make bytes [0, n) sum to 0 by changing the byte at offset at. */
FUZZ_API void fuzz_fix_sum(uint8_t *p, size_t n, size_t at)
{
	p[at] = (uint8_t)(p[at] - acpi_checksum(p, n));
}

/* Repair the table at p (avail bytes): its checksum over its Length,
 * when the Length is one the parser could accept and fits. */
FUZZ_API void fuzz_fix_table(uint8_t *p, size_t avail)
{
	uint32_t len;

	if (avail < ACPI_HEADER_SIZE)
		return;
	len = acpi_get32(p + 4);
	if (len >= ACPI_HEADER_SIZE && len <= avail)
		fuzz_fix_sum(p, len, 9);
}

/* Repair an RSDP candidate at p (avail bytes). */
FUZZ_API void fuzz_fix_rsdp(uint8_t *p, size_t avail)
{
	uint32_t len;

	if (avail < ACPI_RSDP_V1_SIZE)
		return;
	fuzz_fix_sum(p, ACPI_RSDP_V1_SIZE, 8);
	if (p[15] < 2 || avail < ACPI_RSDP_V2_SIZE)
		return;
	len = acpi_get32(p + 20);
	if (len >= ACPI_RSDP_V2_SIZE && len <= avail)
		fuzz_fix_sum(p, len, 32);
}

/* ---- Invariants ---- */

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The promises of madt.h about a successful parse. */
FUZZ_API void fuzz_check_madt(const struct madt *m, size_t avail)
{
	FUZZ_CHECK(m->length >= MADT_HEADER_SIZE && m->length <= avail);
	FUZZ_CHECK(m->nenabled <= m->ncpu && m->ncpu <= m->cpu_cap);
	FUZZ_CHECK(m->ncpu <= MADT_MAX_CPUS);
	FUZZ_CHECK(m->nioapic <= m->ioapic_cap);
	FUZZ_CHECK(m->noverride <= m->override_cap);
	FUZZ_CHECK(m->nnmi <= m->nmi_cap);
	for (size_t i = 0; i < m->ncpu; i++) {
		const struct madt_cpu *c = &m->cpu[i];

		FUZZ_CHECK(((c->flags & MADT_CPU_ENABLED) != 0) ==
			   (i < m->nenabled));
		FUZZ_CHECK(c->type == MADT_LAPIC || c->type == MADT_X2APIC);
		FUZZ_CHECK(c->type == MADT_X2APIC ||
			   c->apic_id < MADT_XAPIC_INVALID);
		FUZZ_CHECK(c->apic_id != MADT_X2APIC_INVALID);
	}
	/* No two CPUs share an id: sorted, no two neighbours are equal. */
	if (m->ncpu > 1) {
		uint32_t *ids = malloc(m->ncpu * sizeof *ids);

		for (size_t i = 0; i < m->ncpu; i++)
			ids[i] = m->cpu[i].apic_id;
		qsort(ids, m->ncpu, sizeof *ids, compare_u32);
		for (size_t i = 1; i < m->ncpu; i++)
			FUZZ_CHECK(ids[i - 1] != ids[i]);
		free(ids);
	}
	/* madt_cpu_index() finds the first, the last and a middle CPU. */
	for (size_t k = 0; k < 3 && m->ncpu > 0; k++) {
		size_t i = k == 0 ? 0 : k == 1 ? m->ncpu - 1 : m->ncpu / 2;
		long want = i < m->nenabled ? (long)i : -1;

		FUZZ_CHECK(madt_cpu_index(m, m->cpu[i].apic_id) == want);
	}
}

/* Parse, check, print, and move a boot CPU to the front. */
FUZZ_API void fuzz_madt_bytes(const uint8_t *t, size_t size)
{
	struct madt m;
	int err = madt_load(t, size, fuzz_alloc, &m);

	FUZZ_CHECK(err >= ACPI_OK && err <= ACPI_E_FULL);
	fuzz_print_begin();
	madt_print_summary(&m, err, fuzz_print);
	if (err == ACPI_OK) {
		fuzz_check_madt(&m, size);
		if (m.ncpu <= 16)       /* every line is the same code */
			madt_print_cpus(&m, fuzz_print);
		if (m.nenabled > 0) {
			uint32_t boot = m.cpu[m.nenabled - 1].apic_id;

			FUZZ_CHECK(madt_set_boot_cpu(&m, boot) == ACPI_OK);
			FUZZ_CHECK(m.cpu[0].apic_id == boot);
			fuzz_check_madt(&m, size);
		}
	}
	fuzz_print_end();
	fuzz_free_all();
}

#endif /* FUZZ_H */
