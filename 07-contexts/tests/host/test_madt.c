/*
 * test_madt.c: host unit tests for kernel/madt.c, the MADT parser.
 *
 * Built and run like test_acpi.c (`make hosttest`):
 *
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
 *       -I kernel -o build/host/test_madt tests/host/test_madt.c
 *   build/host/test_madt
 *
 * QEMU's MADTs from tests/acpi/qemu/ (one per configuration: 1 to 255
 * CPUs, disabled entries from maxcpus, sparse APIC ids from a
 * topology), compared record by record with the dump tool's reading
 * and by summary line with what QEMU was told to build; then hand-made
 * tables with every record type and every way a record can be wrong.
 *
 * `build/host/test_madt --write-seeds DIR` writes the hand-made MADTs
 * into DIR, for the fuzzer's seed corpus.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../../kernel/acpi.c"
#include "../../kernel/madt.c"
#include "format.c"
#include "acpi_build.h"
#include "acpi_test.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Parse t with madt_load() and the test's allocator. */
static int load(const struct tb *t, struct madt *m)
{
	alloc_reset();
	return madt_load(t->b, t->len, test_alloc, m);
}

/* The summary line of a parse that returned err. */
static const char *summary(const struct madt *m, int err)
{
	out_reset();
	madt_print_summary(m, err, collect);
	return out;
}

/* ---- QEMU's tables ---- */

static void madt_qemu(void)
{
	for (size_t i = 0; i < NCONFIGS; i++) {
		const struct qemu_config *q = &qemu_configs[i];
		struct qemu_dump d;
		struct madt m;
		char line[256], want[256];
		size_t en = 0, dis = 0;
		int n;

		check_begin("madt_qemu/%s", q->name);
		if (dump_load(&d, q->name) != 0) {
			CHECKF(0, "missing files in %s/%s", data_dir, d.dir);
			goto next;
		}
		alloc_reset();
		CHECK(madt_load(d.apic, d.apic_size, test_alloc, &m) ==
		      ACPI_OK);
		CHECK(nallocs == 1);
		/* The header, then each kind of record in table order. The
		 * tool lists the CPUs in table order; ours has the enabled
		 * ones first. */
		snprintf(want, sizeof want, "MADT-HEADER 0x%lx 0x%x",
			 (unsigned long)m.lapic_address, m.flags);
		CHECK(dump_line(&d, "MADT-HEADER", 0, line, sizeof line) == 0);
		CHECKF(strcmp(line, want) == 0, "\"%s\" vs \"%s\"", line, want);
		for (n = 0; dump_line(&d, "CPU", n, line, sizeof line) == 0;
		     n++) {
			unsigned uid, apic, flags;
			const struct madt_cpu *c;

			CHECK(sscanf(line, "CPU %u %u 0x%x", &uid, &apic,
				     &flags) == 3);
			c = flags & 1 ? &m.cpu[en++]
				      : &m.cpu[m.nenabled + dis++];
			CHECKF(c < m.cpu + m.ncpu && c->uid == uid &&
			       c->apic_id == apic && c->flags == flags,
			       "CPU record %d: %s", n, line);
		}
		CHECK((size_t)n == m.ncpu && en == m.nenabled);
		for (n = 0; dump_line(&d, "IOAPIC", n, line, sizeof line) == 0;
		     n++) {
			snprintf(want, sizeof want, "IOAPIC %u 0x%x %u",
				 m.ioapic[n].id, m.ioapic[n].address,
				 m.ioapic[n].gsi_base);
			CHECKF(strcmp(line, want) == 0, "%s", want);
		}
		CHECK((size_t)n == m.nioapic);
		for (n = 0; dump_line(&d, "ISO", n, line, sizeof line) == 0;
		     n++) {
			const struct madt_override *o = &m.override[n];

			snprintf(want, sizeof want, "ISO %u %u %u 0x%x", o->bus,
				 o->irq, o->gsi, o->flags);
			CHECKF(strcmp(line, want) == 0, "%s", want);
		}
		CHECK((size_t)n == m.noverride);
		for (n = 0; dump_line(&d, "NMI", n, line, sizeof line) == 0;
		     n++) {
			snprintf(want, sizeof want, "NMI %u 0x%x %u",
				 m.nmi[n].uid, m.nmi[n].flags, m.nmi[n].lint);
			CHECKF(strcmp(line, want) == 0, "%s", want);
		}
		CHECK((size_t)n == m.nnmi);
		CHECK(dump_line(&d, "OTHER", 0, line, sizeof line) != 0 &&
		      m.unknown == 0 && m.duplicates == 0 &&
		      m.invalid_ids == 0 && m.lapic_overrides == 0);
		/* QEMU's boot CPU has APIC id 0, listed first. */
		CHECK(madt_set_boot_cpu(&m, 0) == ACPI_OK &&
		      m.cpu[0].apic_id == 0);
		CHECKF(strcmp(summary(&m, ACPI_OK), q->summary) == 0,
		       "got  %swant %s", out, q->summary);
next:
		alloc_reset();
		dump_free(&d);
		check_end();
	}
}

static void madt_qemu_sparse_index(void)
{
	struct qemu_dump d;
	struct madt m;
	static const uint32_t ids[] = { 0, 1, 2, 4, 5, 6 };

	if (dump_load(&d, "q35-smp6-sockets2-cores3") != 0) {
		CHECKF(0, "missing files in %s/%s", data_dir, d.dir);
		dump_free(&d);
		return;
	}
	CHECK(madt_load(d.apic, d.apic_size, test_alloc, &m) == ACPI_OK);
	CHECK(m.nenabled == 6);
	for (int i = 0; i < N(ids); i++) {
		CHECK(m.cpu[i].apic_id == ids[i]);
		CHECK(madt_cpu_index(&m, ids[i]) == i);
	}
	CHECK(madt_cpu_index(&m, 3) == -1 && madt_cpu_index(&m, 7) == -1);
	out_reset();
	madt_print_cpus(&m, collect);
	CHECKF(strstr(out, "CPU   3: APIC id   4, ACPI uid   3, enabled\n")
	       != NULL, "%s", out);
	alloc_reset();
	dump_free(&d);
}

static void madt_qemu_maxcpus(void)
{
	struct qemu_dump d;
	struct madt m;

	if (dump_load(&d, "pc-smp4-maxcpus8") != 0) {
		CHECKF(0, "missing files in %s/%s", data_dir, d.dir);
		dump_free(&d);
		return;
	}
	CHECK(madt_load(d.apic, d.apic_size, test_alloc, &m) == ACPI_OK);
	CHECK(m.ncpu == 8 && m.nenabled == 4);
	for (size_t i = 4; i < 8; i++)
		CHECK(m.cpu[i].apic_id == i && m.cpu[i].flags == 0);
	CHECK(madt_cpu_index(&m, 5) == -1);      /* not startable */
	CHECK(madt_set_boot_cpu(&m, 5) == ACPI_E_NOT_FOUND);
	out_reset();
	madt_print_cpus(&m, collect);
	CHECKF(strstr(out, "CPU   -: APIC id   7, ACPI uid   7, disabled\n")
	       != NULL, "%s", out);
	alloc_reset();
	dump_free(&d);
}

/* ---- Hand-made tables ---- */

/* Every record type this parser reads, and three it skips. */
static void build_every_type(struct tb *t)
{
	tb_madt(t, 0xFEE00000, MADT_PCAT_COMPAT);
	tb_lapic(t, 1, 2, MADT_CPU_ENABLED);
	tb_ioapic(t, 3, 0xFEC00000, 0);
	tb_ioapic(t, 4, 0xFEC01000, 24);
	tb_override(t, 0, 2, 0);
	tb_override(t, 9, 9, 0xD);
	tb_record(t, 3, 8);                    /* NMI source: skipped */
	tb_nmi(t, MADT_NMI_ALL_CPUS, 5, 1);
	tb_lapic_address(t, 0x12FEE00000ull);
	tb_x2apic(t, 300, MADT_CPU_ENABLED, 1000);
	tb_record(t, 10, 12);                  /* x2APIC NMI: skipped */
	tb_record(t, 0x80, 2);                 /* OEM type: skipped */
	tb_end(t);
}

static void madt_every_type(void)
{
	struct tb t;
	struct madt m;

	build_every_type(&t);
	CHECK(load(&t, &m) == ACPI_OK);
	CHECK(m.revision == 1 && m.flags == MADT_PCAT_COMPAT);
	CHECK(m.length == t.len);
	CHECKF(m.lapic_address == 0x12FEE00000ull, "%lx", m.lapic_address);
	CHECK(m.lapic_overrides == 1);
	CHECK(m.ncpu == 2 && m.nenabled == 2);
	CHECK(m.cpu[0].apic_id == 2 && m.cpu[0].uid == 1 &&
	      m.cpu[0].type == MADT_LAPIC);
	CHECK(m.cpu[1].apic_id == 300 && m.cpu[1].uid == 1000 &&
	      m.cpu[1].type == MADT_X2APIC &&
	      m.cpu[1].flags == MADT_CPU_ENABLED);
	CHECK(m.nioapic == 2 && m.ioapic[1].id == 4 &&
	      m.ioapic[1].address == 0xFEC01000 && m.ioapic[1].gsi_base == 24);
	CHECK(m.noverride == 2 && m.override[1].irq == 9 &&
	      m.override[1].gsi == 9 && m.override[1].flags == 0xD &&
	      m.override[0].bus == 0 && m.override[0].gsi == 2);
	CHECK(m.nnmi == 1 && m.nmi[0].uid == MADT_NMI_ALL_CPUS &&
	      m.nmi[0].flags == 5 && m.nmi[0].lint == 1);
	CHECK(m.unknown == 3);
	CHECKF(strcmp(summary(&m, ACPI_OK),
		      "MADT: 2 CPUs enabled, APIC ids 2,300; LAPIC "
		      "0x12fee00000; 2 I/O APICs; 2 IRQ overrides; 1 NMI; "
		      "8259 PICs present; skipped 3 records of other types\n")
	       == 0, "%s", out);
	out_reset();
	madt_print_cpus(&m, collect);
	CHECKF(strcmp(out,
		      "CPU   0: APIC id   2, ACPI uid   1, enabled\n"
		      "CPU   1: APIC id 300, ACPI uid 1000, enabled (x2APIC)\n")
	       == 0, "%s", out);
	alloc_reset();
}

/* Records whose length byte is wrong, one case each. */
static void madt_bad_lengths(void)
{
	static const struct {
		const char *name;
		uint8_t type, length;
		const char *why;
	} cases[] = {
		{ "zero", 0x80, 0, "length below 2" },
		{ "one", 0x80, 1, "length below 2" },
		{ "zero-known", MADT_LAPIC, 0, "length below 2" },
		{ "lapic-short", MADT_LAPIC, 7,
		  "shorter than its type's size" },
		{ "ioapic-short", MADT_IOAPIC, 11,
		  "shorter than its type's size" },
		{ "override-short", MADT_OVERRIDE, 9,
		  "shorter than its type's size" },
		{ "nmi-short", MADT_LAPIC_NMI, 5,
		  "shorter than its type's size" },
		{ "address-short", MADT_LAPIC_ADDRESS, 11,
		  "shorter than its type's size" },
		{ "x2apic-short", MADT_X2APIC, 15,
		  "shorter than its type's size" },
		{ "past-end", 0x80, 200, "runs past the end of the table" },
		{ "just-past-end", MADT_LAPIC, 17,
		  "runs past the end of the table" },
	};

	for (int i = 0; i < N(cases); i++) {
		struct tb t;
		struct madt m;
		char want[256];
		int err;

		check_begin("madt_bad_lengths/%s", cases[i].name);
		tb_madt(&t, 0xFEE00000, 0);
		tb_lapic(&t, 0, 0, MADT_CPU_ENABLED);
		/* The bad record, with 16 bytes after it in the table. */
		tb_u8(&t, cases[i].type);
		tb_u8(&t, cases[i].length);
		for (int k = 0; k < 14; k++)
			tb_u8(&t, 0);
		tb_end(&t);
		err = load(&t, &m);
		CHECKF(err == ACPI_E_RECORD, "%s", acpi_strerror(err));
		CHECK(m.bad_offset == 52 && m.bad_type == cases[i].type &&
		      m.bad_length == cases[i].length);
		CHECK(nallocs == 0);
		snprintf(want, sizeof want, "MADT: bad record at offset 52 "
			 "(type %u, length %u): %s; MADT not used\n",
			 cases[i].type, cases[i].length, cases[i].why);
		CHECKF(strcmp(summary(&m, err), want) == 0, "%s", out);
		alloc_reset();
		check_end();
	}
}

static void madt_lone_byte(void)
{
	struct tb t;
	struct madt m;
	int err;

	tb_madt(&t, 0xFEE00000, 0);
	tb_lapic(&t, 0, 0, MADT_CPU_ENABLED);
	tb_u8(&t, 0);                /* a type with no length byte */
	tb_end(&t);
	err = load(&t, &m);
	CHECK(err == ACPI_E_RECORD && m.bad_offset == 52);
	CHECKF(strcmp(summary(&m, err), "MADT: bad record at offset 52 "
		      "(type 0, length 0): its length byte is past the end "
		      "of the table; MADT not used\n") == 0, "%s", out);
	alloc_reset();
}

/* A record longer than its type's size: the known fields are read,
 * the rest skipped, and the next record is found. */
static void madt_longer_record(void)
{
	struct tb t;
	struct madt m;

	tb_madt(&t, 0xFEE00000, 0);
	tb_u8(&t, MADT_LAPIC);
	tb_u8(&t, 12);
	tb_u8(&t, 7);
	tb_u8(&t, 9);
	tb_u32(&t, MADT_CPU_ENABLED);
	tb_u32(&t, 0xFFFFFFFF);      /* a field from the future */
	tb_ioapic(&t, 1, 0xFEC00000, 0);
	tb_end(&t);
	CHECK(load(&t, &m) == ACPI_OK);
	CHECK(m.ncpu == 1 && m.cpu[0].uid == 7 && m.cpu[0].apic_id == 9);
	CHECK(m.nioapic == 1 && m.ioapic[0].id == 1);
	alloc_reset();
}

static void madt_table_errors(void)
{
	struct tb t;
	struct madt m;
	int err;

	build_every_type(&t);
	err = madt_load(t.b, t.len - 1, test_alloc, &m);
	CHECK(err == ACPI_E_TRUNCATED);
	CHECKF(strcmp(summary(&m, err), "MADT: truncated; MADT not used\n")
	       == 0, "%s", out);
	tb_break_checksum(&t);
	CHECK(load(&t, &m) == ACPI_E_CHECKSUM);
	build_every_type(&t);
	memcpy(t.b, "APIX", 4);
	tb_fix_sum(t.b, t.len, 9);
	CHECK(load(&t, &m) == ACPI_E_SIGNATURE);
	/* Length 40: a header, but no room for the MADT's own fields. */
	tb_madt(&t, 0xFEE00000, 0);
	t.len = 40;
	tb_end(&t);
	CHECK(load(&t, &m) == ACPI_E_LENGTH);
	CHECK(madt_load(t.b, 20, test_alloc, &m) == ACPI_E_TRUNCATED);
	alloc_reset();
}

/* No records at all: a valid table with no CPUs, and no allocation. */
static void madt_header_only(void)
{
	struct tb t;
	struct madt m;

	tb_madt(&t, 0xFEE00000, 0);
	tb_end(&t);
	alloc_fail = 1;
	CHECK(madt_load(t.b, t.len, test_alloc, &m) == ACPI_OK);
	CHECK(m.ncpu == 0 && m.nenabled == 0 && m.cpu == NULL);
	CHECKF(strcmp(summary(&m, ACPI_OK), "MADT: 0 CPUs enabled; LAPIC "
		      "0xfee00000; 0 I/O APICs; 0 IRQ overrides; 0 NMIs\n")
	       == 0, "%s", out);
	CHECK(madt_set_boot_cpu(&m, 0) == ACPI_E_NOT_FOUND);
	alloc_reset();
}

/* Disabled and enabled CPUs mixed: the enabled ones get indices 0..,
 * in table order, the others follow, in table order too. */
static void madt_disabled_interleaved(void)
{
	static const struct { uint8_t id; uint32_t flags; } rec[] = {
		{ 10, 0 }, { 11, MADT_CPU_ENABLED }, { 12, 0 },
		{ 13, MADT_CPU_ENABLED }, { 14, MADT_CPU_ENABLED },
		{ 15, MADT_CPU_ONLINE_CAPABLE },
	};
	static const uint32_t order[] = { 11, 13, 14, 10, 12, 15 };
	struct tb t;
	struct madt m;

	tb_madt(&t, 0xFEE00000, 0);
	for (int i = 0; i < N(rec); i++)
		tb_lapic(&t, (uint8_t)i, rec[i].id, rec[i].flags);
	tb_end(&t);
	CHECK(load(&t, &m) == ACPI_OK);
	CHECK(m.ncpu == 6 && m.nenabled == 3);
	for (int i = 0; i < N(order); i++)
		CHECKF(m.cpu[i].apic_id == order[i], "cpu[%d] has id %u", i,
		       m.cpu[i].apic_id);
	CHECK(madt_cpu_index(&m, 14) == 2 && madt_cpu_index(&m, 10) == -1);
	CHECKF(strcmp(summary(&m, ACPI_OK), "MADT: 3 CPUs enabled, APIC "
		      "ids 11,13-14; 3 disabled (1 online-capable); LAPIC "
		      "0xfee00000; 0 I/O APICs; 0 IRQ overrides; 0 NMIs\n")
	       == 0, "%s", out);
	out_reset();
	madt_print_cpus(&m, collect);
	CHECKF(strstr(out, "CPU   -: APIC id  15, ACPI uid   5, disabled, "
		      "online-capable\n") != NULL, "%s", out);
	alloc_reset();
}

/* The same APIC id twice, in the same or the other record type: the
 * first record wins, the others are counted. */
static void madt_duplicates(void)
{
	struct tb t;
	struct madt m;

	tb_madt(&t, 0xFEE00000, 0);
	tb_lapic(&t, 0, 1, MADT_CPU_ENABLED);
	tb_lapic(&t, 1, 1, MADT_CPU_ENABLED);     /* same id, enabled */
	tb_lapic(&t, 2, 2, 0);
	tb_lapic(&t, 3, 2, MADT_CPU_ENABLED);     /* was disabled first */
	tb_x2apic(&t, 1, MADT_CPU_ENABLED, 9);    /* xAPIC's id again */
	tb_lapic(&t, 4, 3, MADT_CPU_ENABLED);
	tb_end(&t);
	CHECK(load(&t, &m) == ACPI_OK);
	CHECKF(m.duplicates == 3, "%zu duplicates", m.duplicates);
	/* Four enabled records counted, two kept: the disabled CPU moved
	 * down to close the gap. */
	CHECK(m.ncpu == 3 && m.nenabled == 2);
	CHECK(m.cpu[0].apic_id == 1 && m.cpu[0].uid == 0);
	CHECK(m.cpu[1].apic_id == 3);
	CHECK(m.cpu[2].apic_id == 2 && m.cpu[2].flags == 0);
	CHECKF(strstr(summary(&m, ACPI_OK), "; skipped 3 duplicate APIC "
		      "ids\n") != NULL, "%s", out);
	alloc_reset();
}

static void madt_invalid_ids(void)
{
	struct tb t;
	struct madt m;

	tb_madt(&t, 0xFEE00000, 0);
	tb_lapic(&t, 0, 0, MADT_CPU_ENABLED);
	tb_lapic(&t, 1, 0xFF, MADT_CPU_ENABLED);
	tb_x2apic(&t, 0xFFFFFFFF, MADT_CPU_ENABLED, 2);
	tb_x2apic(&t, 0xFF, MADT_CPU_ENABLED, 3);  /* valid in x2APIC */
	tb_end(&t);
	CHECK(load(&t, &m) == ACPI_OK);
	CHECK(m.invalid_ids == 2 && m.ncpu == 2 && m.nenabled == 2);
	CHECK(m.cpu[1].apic_id == 0xFF && m.cpu[1].type == MADT_X2APIC);
	CHECKF(strstr(summary(&m, ACPI_OK), "APIC ids 0,255;") != NULL &&
	       strstr(out, "; skipped 2 invalid APIC ids\n") != NULL, "%s",
	       out);
	alloc_reset();
}

static void madt_x2apic_ids(void)
{
	struct tb t;
	struct madt m;

	tb_madt(&t, 0xFEE00000, 0);
	tb_lapic(&t, 0, 0, MADT_CPU_ENABLED);
	tb_lapic(&t, 1, 1, MADT_CPU_ENABLED);
	tb_x2apic(&t, 256, MADT_CPU_ENABLED, 256);
	tb_x2apic(&t, 257, MADT_CPU_ENABLED, 257);
	tb_x2apic(&t, 70000, MADT_CPU_ENABLED, 0xFFFF0000);
	tb_x2apic(&t, 0xFFFFFFFE, 0, 5);
	tb_end(&t);
	CHECK(load(&t, &m) == ACPI_OK);
	CHECK(m.nenabled == 5 && m.ncpu == 6);
	CHECK(m.cpu[4].apic_id == 70000 && m.cpu[4].uid == 0xFFFF0000);
	CHECK(madt_cpu_index(&m, 70000) == 4);
	CHECKF(strstr(summary(&m, ACPI_OK), "5 CPUs enabled, APIC ids "
		      "0-1,256-257,70000; 1 disabled") != NULL, "%s", out);
	alloc_reset();
}

static void madt_boot_cpu(void)
{
	struct tb t;
	struct madt m;
	static const uint32_t after[] = { 7, 3, 5, 9 };

	tb_madt(&t, 0xFEE00000, 0);
	tb_lapic(&t, 0, 3, MADT_CPU_ENABLED);
	tb_lapic(&t, 1, 5, MADT_CPU_ENABLED);
	tb_lapic(&t, 2, 8, 0);
	tb_lapic(&t, 3, 7, MADT_CPU_ENABLED);
	tb_lapic(&t, 4, 9, MADT_CPU_ENABLED);
	tb_end(&t);
	CHECK(load(&t, &m) == ACPI_OK);
	CHECK(madt_set_boot_cpu(&m, 7) == ACPI_OK);
	for (int i = 0; i < N(after); i++)
		CHECKF(m.cpu[i].apic_id == after[i], "cpu[%d] = %u", i,
		       m.cpu[i].apic_id);
	CHECK(m.cpu[4].apic_id == 8 && m.nenabled == 4);
	CHECK(madt_cpu_index(&m, 7) == 0 && madt_cpu_index(&m, 9) == 3);
	CHECK(madt_set_boot_cpu(&m, 7) == ACPI_OK && m.cpu[0].apic_id == 7);
	CHECK(madt_set_boot_cpu(&m, 9) == ACPI_OK && m.cpu[0].apic_id == 9 &&
	      m.cpu[1].apic_id == 7);
	CHECK(madt_set_boot_cpu(&m, 8) == ACPI_E_NOT_FOUND);  /* disabled */
	CHECK(madt_set_boot_cpu(&m, 4) == ACPI_E_NOT_FOUND);
	alloc_reset();
}

/* madt_parse() with the caller's arrays: exactly the counted sizes
 * work, one less does not. */
static void madt_caller_arrays(void)
{
	struct tb t;
	struct madt m = { 0 };
	struct madt_counts c;
	struct madt_cpu cpus[2];
	struct madt_ioapic ioapics[2];
	struct madt_override overrides[2];
	struct madt_nmi nmis[1];

	build_every_type(&t);
	CHECK(madt_count(t.b, t.len, &c, NULL) == ACPI_OK);
	CHECK(c.cpus == 2 && c.enabled == 2 && c.ioapics == 2 &&
	      c.overrides == 2 && c.nmis == 1);
	m.cpu = cpus;
	m.cpu_cap = 2;
	m.ioapic = ioapics;
	m.ioapic_cap = 2;
	m.override = overrides;
	m.override_cap = 2;
	m.nmi = nmis;
	m.nmi_cap = 1;
	CHECK(madt_parse(t.b, t.len, &m) == ACPI_OK);
	CHECK(m.ncpu == 2 && m.cpu == cpus && m.cpu_cap == 2);
	m.override_cap = 1;
	CHECK(madt_parse(t.b, t.len, &m) == ACPI_E_FULL);
	/* Without records of a kind, no array for it is needed. */
	memset(&m, 0, sizeof m);
	tb_madt(&t, 0xFEE00000, 0);
	tb_lapic(&t, 0, 0, MADT_CPU_ENABLED);
	tb_end(&t);
	m.cpu = cpus;
	m.cpu_cap = 1;
	CHECK(madt_parse(t.b, t.len, &m) == ACPI_OK && m.ncpu == 1);
}

static void madt_no_memory(void)
{
	struct tb t;
	struct madt m;
	int err;

	build_every_type(&t);
	alloc_fail = 1;
	err = madt_load(t.b, t.len, test_alloc, &m);
	CHECK(err == ACPI_E_NO_MEMORY);
	CHECKF(strcmp(summary(&m, err), "MADT: out of memory; MADT not "
		      "used\n") == 0, "%s", out);
	alloc_reset();
}

/* MADT_MAX_CPUS processor records are accepted, one more is not. */
static void madt_too_many_cpus(void)
{
	size_t len = MADT_HEADER_SIZE + 8 * (MADT_MAX_CPUS + 1);
	uint8_t *b = calloc(1, len);
	struct madt m;
	struct tb head;
	int err;

	tb_madt(&head, 0xFEE00000, 0);
	memcpy(b, head.b, MADT_HEADER_SIZE);
	for (uint32_t i = 0; i <= MADT_MAX_CPUS; i++) {
		uint8_t *r = b + MADT_HEADER_SIZE + 8 * i;

		r[0] = MADT_LAPIC;
		r[1] = 8;
		r[2] = (uint8_t)i;
		r[3] = (uint8_t)(i % 255);  /* duplicates: still records */
		r[4] = MADT_CPU_ENABLED;
	}
	for (int k = 0; k < 4; k++)
		b[4 + k] = (uint8_t)((len - 8) >> 8 * k);
	tb_fix_sum(b, len - 8, 9);
	alloc_reset();
	err = madt_load(b, len - 8, test_alloc, &m);
	CHECKF(err == ACPI_OK, "%s", acpi_strerror(err));
	CHECK(m.nenabled == 255 && m.duplicates == MADT_MAX_CPUS - 255);
	alloc_reset();
	for (int k = 0; k < 4; k++)
		b[4 + k] = (uint8_t)(len >> 8 * k);
	tb_fix_sum(b, len, 9);
	err = madt_load(b, len, test_alloc, &m);
	CHECK(err == ACPI_E_FULL && nallocs == 0);
	CHECKF(strcmp(summary(&m, err), "MADT: more CPU records than this "
		      "kernel supports; MADT not used\n") == 0, "%s", out);
	alloc_reset();
	free(b);
}

/* The summary lists at most 8 runs of ids. */
static void madt_summary_runs(void)
{
	struct tb t;
	struct madt m;

	tb_madt(&t, 0xFEE00000, 0);
	for (int i = 0; i < 12; i++)
		tb_lapic(&t, (uint8_t)i, (uint8_t)(3 * i), MADT_CPU_ENABLED);
	tb_end(&t);
	CHECK(load(&t, &m) == ACPI_OK);
	CHECKF(strstr(summary(&m, ACPI_OK), "12 CPUs enabled, APIC ids "
		      "0,3,6,9,12,15,18,21,...;") != NULL, "%s", out);
	alloc_reset();
}

/* ---- Seeds for the fuzzer ---- */

static int write_seed(const char *dir, const char *name, const struct tb *t)
{
	char file[128];

	snprintf(file, sizeof file, "madt-%s.bin", name);
	return write_data(dir, file, t->b, t->len);
}

static int write_seeds(const char *dir)
{
	struct tb t;
	int status = 0;

	build_every_type(&t);
	status |= write_seed(dir, "every-type", &t);
	tb_madt(&t, 0xFEE00000, 0);
	tb_lapic(&t, 0, 1, MADT_CPU_ENABLED);
	tb_lapic(&t, 1, 1, 0);
	tb_x2apic(&t, 1, MADT_CPU_ENABLED, 9);
	tb_lapic(&t, 2, 0xFF, MADT_CPU_ENABLED);
	tb_x2apic(&t, 70000, MADT_CPU_ONLINE_CAPABLE, 10);
	tb_end(&t);
	status |= write_seed(dir, "duplicates", &t);
	tb_madt(&t, 0xFEE00000, 0);
	tb_lapic(&t, 0, 0, MADT_CPU_ENABLED);
	tb_record(&t, 0x80, 0);
	tb_end(&t);
	status |= write_seed(dir, "zero-length", &t);
	return status;
}

int main(int argc, char **argv)
{
	data_dir_init(argv[0]);
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		return write_seeds(argv[2]);
	madt_qemu();
	RUN(madt_qemu_sparse_index);
	RUN(madt_qemu_maxcpus);
	RUN(madt_every_type);
	madt_bad_lengths();
	RUN(madt_lone_byte);
	RUN(madt_longer_record);
	RUN(madt_table_errors);
	RUN(madt_header_only);
	RUN(madt_disabled_interleaved);
	RUN(madt_duplicates);
	RUN(madt_invalid_ids);
	RUN(madt_x2apic_ids);
	RUN(madt_boot_cpu);
	RUN(madt_caller_arrays);
	RUN(madt_no_memory);
	RUN(madt_too_many_cpus);
	RUN(madt_summary_runs);
	alloc_reset();
	check_begin("corner_files_current");
	check_corner_files(write_seeds, "test_madt");
	check_end();
	return check_done("test_madt");
}
