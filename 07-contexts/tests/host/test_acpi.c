/*
 * test_acpi.c: host unit tests for kernel/acpi.c: the RSDP search,
 * table headers and checksums, the RSDT and XSDT, the walk along the
 * chain, and the printed lines.
 *
 * The file under test is included whole (one program, one command,
 * run from the chapter directory; `make hosttest` does it):
 *
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
 *       -I kernel -o build/host/test_acpi tests/host/test_acpi.c
 *   build/host/test_acpi
 *
 * Two kinds of input:
 *
 * - QEMU's real tables, dumped by tools/acpi-dump into
 *   tests/acpi/qemu/<configuration>/ (18 configurations of pc and
 *   q35); each case checks the C parsers against the dump tool's own
 *   reading (tables.txt) and against what QEMU was told to build;
 * - hand-made tables (acpi_build.h) for everything QEMU never shows:
 *   revision 2 RSDPs and XSDTs with 64-bit pointers, bad checksums,
 *   short and overlong lengths, unmapped and null entries.
 *
 * `build/host/test_acpi --write-seeds DIR` writes the hand-made chains
 * as memory images into DIR, for the fuzzer's seed corpus.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../../kernel/acpi.c"
#include "format.c"
#include "acpi_build.h"
#include "acpi_test.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- acpi_text, acpi_strerror ---- */

static void text_sanitised(void)
{
	char buf[9];

	acpi_text(buf, "BOCHS ", 6);
	CHECKF(strcmp(buf, "BOCHS") == 0, "\"%s\"", buf);
	acpi_text(buf, "BXPC    ", 8);
	CHECKF(strcmp(buf, "BXPC") == 0, "\"%s\"", buf);
	acpi_text(buf, "A\nB\x7f\xff" "CD", 6);
	CHECKF(strcmp(buf, "A?B??C") == 0, "\"%s\"", buf);
	acpi_text(buf, "AB\0CDEFG", 8);
	CHECKF(strcmp(buf, "AB") == 0, "\"%s\"", buf);
	acpi_text(buf, "      ", 6);
	CHECKF(strcmp(buf, "") == 0, "\"%s\"", buf);
}

static void strerror_distinct(void)
{
	for (int a = ACPI_OK; a <= ACPI_E_UNSUPPORTED; a++)
		for (int b = a + 1; b <= ACPI_E_UNSUPPORTED; b++)
			CHECKF(strcmp(acpi_strerror(a), acpi_strerror(b)) != 0,
			       "%d and %d both \"%s\"", a, b, acpi_strerror(a));
	CHECK(strcmp(acpi_strerror(99), "unknown error") == 0);
}

/* ---- The EBDA ---- */

static void ebda_area(void)
{
	uint64_t base = 1;
	size_t size = 1;

	CHECK(acpi_ebda_area(0x9FC0, &base, &size) == ACPI_OK);
	CHECKF(base == 0x9FC00 && size == 1024, "%lx %zu", base, size);
	CHECK(acpi_ebda_area(0x0050, &base, &size) == ACPI_OK);
	CHECKF(base == 0x500 && size == 1024, "%lx %zu", base, size);
	CHECK(acpi_ebda_area(0x9FF0, &base, &size) == ACPI_OK);
	CHECKF(base == 0x9FF00 && size == 256, "%lx %zu", base, size);
	CHECK(acpi_ebda_area(0, &base, &size) == ACPI_E_NOT_FOUND);
	CHECK(acpi_ebda_area(0x004F, &base, &size) == ACPI_E_NOT_FOUND);
	CHECK(acpi_ebda_area(0xA000, &base, &size) == ACPI_E_NOT_FOUND);
	CHECK(acpi_ebda_area(0xF000, &base, &size) == ACPI_E_NOT_FOUND);
}

/* ---- The RSDP ---- */

static void rsdp_v1(void)
{
	uint8_t b[36];
	struct acpi_rsdp r;

	tb_rsdp_v1(b, 0x7FFE1BEF);
	memset(b + 20, 0xEE, 16);   /* not part of a revision 0 RSDP */
	CHECK(acpi_rsdp_check(b, 36, 0xF59D0, &r) == ACPI_OK);
	CHECK(r.phys == 0xF59D0 && r.revision == 0 && r.length == 20);
	CHECK(r.rsdt == 0x7FFE1BEF && r.xsdt == 0);
	CHECK(memcmp(r.oem, "TESTER", 6) == 0);
	CHECK(acpi_rsdp_check(b, 20, 0, &r) == ACPI_OK);
	CHECK(acpi_rsdp_check(b, 19, 0, &r) == ACPI_E_TRUNCATED);
	b[16] ^= 1;
	CHECK(acpi_rsdp_check(b, 20, 0, &r) == ACPI_E_CHECKSUM);
	tb_rsdp_v1(b, 1);
	b[7] = '_';
	tb_fix_sum(b, 20, 8);
	CHECK(acpi_rsdp_check(b, 20, 0, &r) == ACPI_E_SIGNATURE);
}

static void rsdp_v2(void)
{
	uint8_t b[64];
	struct acpi_rsdp r;

	tb_rsdp_v2(b, 0x7FFE0000, 0x123456780ull);
	CHECK(acpi_rsdp_check(b, 36, 0xE0010, &r) == ACPI_OK);
	CHECK(r.revision == 2 && r.length == 36);
	CHECKF(r.xsdt == 0x123456780ull, "xsdt %lx", r.xsdt);
	CHECK(r.rsdt == 0x7FFE0000);
	CHECK(acpi_rsdp_check(b, 35, 0, &r) == ACPI_E_TRUNCATED);

	/* The first 20 bytes are right, the whole is not. */
	b[24] ^= 0x10;
	CHECK(acpi_rsdp_check(b, 36, 0, &r) == ACPI_E_CHECKSUM);

	/* Length 20 on a revision 2 RSDP: both sums made right. */
	tb_rsdp_v2(b, 1, 2);
	b[20] = 20;
	tb_fix_sum(b, 20, 8);
	tb_fix_sum(b, 36, 32);
	CHECK(acpi_rsdp_check(b, 36, 0, &r) == ACPI_E_LENGTH);

	/* Length 64: longer than the area holds, then held. */
	tb_rsdp_v2(b, 1, 2);
	memset(b + 36, 0, 28);
	b[20] = 64;
	tb_fix_sum(b, 20, 8);
	tb_fix_sum(b, 64, 32);
	CHECK(acpi_rsdp_check(b, 36, 0, &r) == ACPI_E_TRUNCATED);
	CHECK(acpi_rsdp_check(b, 64, 0, &r) == ACPI_OK);
	CHECK(r.length == 64);
}

static void rsdp_qemu(void)
{
	for (size_t i = 0; i < NCONFIGS; i++) {
		struct qemu_dump d;
		struct acpi_rsdp r;
		char line[256], want[256], oem[7];
		uint64_t base = 0;
		size_t size = 0;
		unsigned ebda = 0;

		check_begin("rsdp_qemu/%s", qemu_configs[i].name);
		if (dump_load(&d, qemu_configs[i].name) != 0) {
			CHECKF(0, "missing files in %s/%s", data_dir, d.dir);
			goto next;
		}
		/* The EBDA is searched first and has no RSDP. */
		CHECK(dump_line(&d, "EBDA", 0, line, sizeof line) == 0);
		CHECK(sscanf(line, "EBDA 0x%x", &ebda) == 1);
		CHECK(acpi_ebda_area((uint16_t)(ebda >> 4), &base, &size) ==
		      ACPI_OK && base == ebda && size == d.ebda_size);
		CHECK(acpi_rsdp_find(d.ebda, d.ebda_size, base, &r) ==
		      ACPI_E_NOT_FOUND && r.rejected == 0);

		/* The BIOS area has exactly one candidate, and it is good. */
		CHECK(d.bios_size == ACPI_BIOS_AREA_SIZE);
		CHECK(acpi_rsdp_find(d.bios, d.bios_size, ACPI_BIOS_AREA, &r)
		      == ACPI_OK);
		CHECK(r.rejected == 0 && r.revision == 0 && r.xsdt == 0);
		acpi_text(oem, r.oem, 6);
		snprintf(want, sizeof want, "RSDP 0x%lx %u %u BOCHS_ 0x%x 0x0",
			 r.phys, r.length, r.revision, r.rsdt);
		CHECK(dump_line(&d, "RSDP", 0, line, sizeof line) == 0);
		CHECKF(strcmp(line, want) == 0, "tool: \"%s\", C: \"%s\"",
		       line, want);
		CHECK(strcmp(oem, "BOCHS") == 0);
		CHECK(d.rsdp_size == 20 &&
		      memcmp(d.rsdp, d.bios + (r.phys - ACPI_BIOS_AREA), 20)
		      == 0);
next:
		dump_free(&d);
		check_end();
	}
}

static void rsdp_search_boundaries(void)
{
	uint8_t area[256] = { 0 };
	struct acpi_rsdp r;

	/* At offset 8 of an area at 0xE0000: not a 16-byte boundary. */
	tb_rsdp_v1(area + 8, 0x1000);
	CHECK(acpi_rsdp_find(area, sizeof area, 0xE0000, &r) ==
	      ACPI_E_NOT_FOUND && r.rejected == 0);
	/* The same bytes in an area at 0xE0008: now at 0xE0010. */
	CHECK(acpi_rsdp_find(area, sizeof area, 0xE0008, &r) == ACPI_OK);
	CHECKF(r.phys == 0xE0010 && r.rsdt == 0x1000, "at %lx", r.phys);

	/* The last 20 bytes of the area: found. */
	memset(area, 0, sizeof area);
	tb_rsdp_v1(area + 224, 0x2000);
	CHECK(acpi_rsdp_find(area, 244, 0xE0000, &r) == ACPI_OK);
	CHECK(r.phys == 0xE00E0);
	/* Cut short by the area's end: a rejected candidate. */
	CHECK(acpi_rsdp_find(area, 243, 0xE0000, &r) == ACPI_E_NOT_FOUND);
	CHECK(r.rejected == 1 && r.rejected_phys == 0xE00E0 &&
	      r.rejected_err == ACPI_E_TRUNCATED);
	/* So short that not even the signature fits: not a candidate. */
	CHECK(acpi_rsdp_find(area, 231, 0xE0000, &r) == ACPI_E_NOT_FOUND);
	CHECK(r.rejected == 0);
	/* Empty and tiny areas. */
	CHECK(acpi_rsdp_find(area, 0, 0xE0000, &r) == ACPI_E_NOT_FOUND);
	CHECK(acpi_rsdp_find(area + 224, 5, 0xE00E0, &r) ==
	      ACPI_E_NOT_FOUND);
}

static void rsdp_search_skips_bad(void)
{
	uint8_t area[512] = { 0 };
	struct acpi_rsdp r;

	tb_rsdp_v1(area + 0x10, 0x1111);
	area[0x10 + 19] ^= 1;                   /* bad checksum */
	tb_rsdp_v2(area + 0x40, 0x2222, 0);
	area[0x40 + 33] = 7;                    /* bad extended sum */
	tb_rsdp_v1(area + 0x100, 0x3333);      /* the good one */
	tb_rsdp_v1(area + 0x180, 0x4444);      /* never reached */
	CHECK(acpi_rsdp_find(area, sizeof area, 0xF0000, &r) == ACPI_OK);
	CHECKF(r.phys == 0xF0100 && r.rsdt == 0x3333, "%lx", r.phys);
	CHECKF(r.rejected == 2, "%u rejected", r.rejected);
	CHECK(r.rejected_phys == 0xF0010 &&
	      r.rejected_err == ACPI_E_CHECKSUM);
	{
		struct acpi_tables t = { .rsdp = r };

		out_reset();
		acpi_print_tables(&t, collect);
		CHECKF(strcmp(out, "ACPI: RSDP 0x000f0100 rev 0 TESTER -> "
			      "RSDT 0x00003333\nACPI: skipped 2 RSDP "
			      "candidate(s), the first at 0x000f0010: bad "
			      "checksum\n") == 0, "%s", out);
	}
}

/* ---- Headers and whole tables ---- */

static void header_read(void)
{
	struct tb t;
	struct acpi_header h;

	tb_table(&t, "FACP", 3);
	tb_u32(&t, 0xDEADBEEF);
	tb_end(&t);
	CHECK(acpi_header_read(t.b, 36, &h) == ACPI_OK);
	CHECK(memcmp(h.sig, "FACP", 4) == 0 && h.length == 40);
	CHECK(h.revision == 3 && memcmp(h.oem, "TESTER", 6) == 0);
	CHECK(memcmp(h.oem_table, "CORNERS ", 8) == 0);
	CHECK(memcmp(h.creator, "TEST", 4) == 0);
	CHECK(h.oem_revision == 1 && h.creator_revision == 1);
	CHECK(acpi_header_read(t.b, 35, &h) == ACPI_E_TRUNCATED);
	tb_set32(&t, 4, 35);
	CHECK(acpi_header_read(t.b, 36, &h) == ACPI_E_LENGTH);
	tb_set32(&t, 4, 0);
	CHECK(acpi_header_read(t.b, 36, &h) == ACPI_E_LENGTH);
	tb_set32(&t, 4, ACPI_TABLE_MAX + 1);
	CHECK(acpi_header_read(t.b, 36, &h) == ACPI_E_LENGTH);
	tb_set32(&t, 4, ACPI_TABLE_MAX);
	CHECK(acpi_header_read(t.b, 36, &h) == ACPI_OK);
	tb_set32(&t, 4, 0xFFFFFFFF);
	CHECK(acpi_header_read(t.b, 36, &h) == ACPI_E_LENGTH);
}

static void table_check(void)
{
	struct tb t;

	tb_table(&t, "HPET", 1);
	for (int i = 0; i < 20; i++)
		tb_u8(&t, (uint8_t)(i * 37));
	tb_end(&t);
	CHECK(acpi_table_check(t.b, t.len, "HPET", NULL) == ACPI_OK);
	CHECK(acpi_table_check(t.b, t.len, NULL, NULL) == ACPI_OK);
	CHECK(acpi_table_check(t.b, t.len + 100, NULL, NULL) == ACPI_OK);
	CHECK(acpi_table_check(t.b, t.len - 1, NULL, NULL) ==
	      ACPI_E_TRUNCATED);
	CHECK(acpi_table_check(t.b, t.len, "APIC", NULL) ==
	      ACPI_E_SIGNATURE);
	t.b[50] ^= 0x80;
	CHECK(acpi_table_check(t.b, t.len, "HPET", NULL) == ACPI_E_CHECKSUM);
	/* A checksum error one table further would go unnoticed if the
	 * sum stopped short of Length: the last byte counts. */
	t.b[50] ^= 0x80;
	t.b[t.len - 1] ^= 1;
	CHECK(acpi_table_check(t.b, t.len, "HPET", NULL) == ACPI_E_CHECKSUM);
}

static void tables_qemu_checksums(void)
{
	static const char *files[] = { "RSDT.bin", "FACP.bin", "APIC.bin",
				       "HPET.bin", "MCFG.bin", "WAET.bin" };

	for (size_t i = 0; i < NCONFIGS; i++) {
		check_begin("tables_qemu_checksums/%s", qemu_configs[i].name);
		for (int f = 0; f < N(files); f++) {
			char dir[80];
			size_t size;
			uint8_t *b;
			struct acpi_header h;

			snprintf(dir, sizeof dir, "qemu/%s",
				 qemu_configs[i].name);
			b = read_data(dir, files[f], &size);
			if (b == NULL) {
				/* q35 alone has MCFG; hpet=off no HPET */
				CHECKF(strstr(qemu_configs[i].tables,
					      files[f]) == NULL ||
				       strncmp(files[f], "RSDT", 4) == 0,
				       "%s missing", files[f]);
				continue;
			}
			CHECKF(acpi_table_check(b, size, files[f], &h) ==
			       ACPI_OK && h.length == size, "%s", files[f]);
			free(b);
		}
		check_end();
	}
}

/* ---- Root tables ---- */

static void root_rsdt_qemu(void)
{
	for (size_t i = 0; i < NCONFIGS; i++) {
		struct qemu_dump d;
		size_t count = 0;

		check_begin("root_rsdt_qemu/%s", qemu_configs[i].name);
		if (dump_load(&d, qemu_configs[i].name) != 0) {
			CHECKF(0, "missing files in %s/%s", data_dir, d.dir);
			goto next;
		}
		CHECK(acpi_root_check(d.rsdt, d.rsdt_size, 4, &count) ==
		      ACPI_OK);
		CHECK(acpi_root_check(d.rsdt, d.rsdt_size, 8, &count) ==
		      ACPI_E_SIGNATURE);
		for (size_t e = 0; e < count; e++) {
			char line[256];
			uint64_t phys = 0;

			CHECK(dump_line(&d, "TABLE", (int)e, line,
					sizeof line) == 0);
			CHECK(sscanf(line, "TABLE %*s 0x%lx", &phys) == 1);
			CHECKF(acpi_root_entry(d.rsdt, 4, e) == phys,
			       "entry %zu", e);
		}
		CHECKF(count == (strlen(qemu_configs[i].tables) + 1) / 5,
		       "%zu entries", count);
next:
		dump_free(&d);
		check_end();
	}
}

static void root_xsdt_64bit(void)
{
	static const uint64_t entries[] = {
		0x100000000ull, 0xFFFFFFFF00001000ull, 0x7FFE0000ull,
		0x0123456789ABCDEFull,
	};
	struct tb t;
	size_t count = 0;

	tb_table(&t, "XSDT", 1);
	for (int i = 0; i < N(entries); i++)
		tb_u64(&t, entries[i]);
	tb_end(&t);
	CHECK(acpi_root_check(t.b, t.len, 8, &count) == ACPI_OK);
	CHECK(count == 4);
	/* Entry 0 is at offset 36: 4 mod 8, not aligned. */
	for (int i = 0; i < N(entries); i++)
		CHECKF(acpi_root_entry(t.b, 8, (size_t)i) == entries[i],
		       "entry %d: %lx", i, acpi_root_entry(t.b, 8, (size_t)i));
	CHECK(acpi_root_check(t.b, t.len, 4, &count) == ACPI_E_SIGNATURE);
}

static void root_partial_entry(void)
{
	struct tb t;
	size_t count = 77;

	tb_table(&t, "RSDT", 1);
	tb_u32(&t, 0x1000);
	tb_u16(&t, 0x2000);          /* half an entry */
	tb_end(&t);
	CHECK(acpi_root_check(t.b, t.len, 4, &count) == ACPI_E_LENGTH);
	CHECK(count == 77);
	tb_table(&t, "XSDT", 1);
	tb_u64(&t, 0x1000);
	tb_u32(&t, 0x2000);
	tb_end(&t);
	CHECK(acpi_root_check(t.b, t.len, 8, &count) == ACPI_E_LENGTH);
	/* No entries at all is a valid, empty list. */
	tb_table(&t, "RSDT", 1);
	tb_end(&t);
	CHECK(acpi_root_check(t.b, t.len, 4, &count) == ACPI_OK);
	CHECK(count == 0);
}

static void root_too_many(void)
{
	struct tb t;
	size_t count = 0;

	tb_table(&t, "RSDT", 1);
	for (unsigned i = 0; i < ACPI_ROOT_MAX; i++)
		tb_u32(&t, 0x1000 + i);
	tb_end(&t);
	CHECK(acpi_root_check(t.b, t.len, 4, &count) == ACPI_OK);
	CHECK(count == ACPI_ROOT_MAX);
	tb_table(&t, "RSDT", 1);
	for (unsigned i = 0; i <= ACPI_ROOT_MAX; i++)
		tb_u32(&t, 0x1000 + i);
	tb_end(&t);
	CHECK(acpi_root_check(t.b, t.len, 4, &count) == ACPI_E_FULL);
}

/* ---- The walk over QEMU's memory ---- */

static void chain_qemu(void)
{
	for (size_t i = 0; i < NCONFIGS; i++) {
		const struct qemu_config *q = &qemu_configs[i];
		struct qemu_dump d;
		struct acpi_rsdp r;
		struct acpi_tables t;
		char sigs[128] = "";

		check_begin("chain_qemu/%s", q->name);
		if (dump_load(&d, q->name) != 0) {
			CHECKF(0, "missing files in %s/%s", data_dir, d.dir);
			goto next;
		}
		/* The memory image's first segment holds the RSDP. */
		CHECK(acpi_rsdp_find(d.mem.seg[0].bytes, d.mem.seg[0].size,
				     d.mem.seg[0].phys, &r) == ACPI_OK);
		mem_use(&d.mem);
		CHECK(acpi_tables_load(&r, &test_env, &t) == ACPI_OK);
		CHECK(!t.use_xsdt && t.xsdt.phys == 0);
		CHECK(t.rsdt.err == ACPI_OK && t.rsdt.phys == r.rsdt);
		for (size_t e = 0; e < t.count; e++) {
			const struct acpi_table *a = &t.table[e];
			char line[256], want[256], oem[7], oem_table[9],
			     sig[5];

			CHECKF(a->err == ACPI_OK && a->data != NULL,
			       "table %zu: %s", e, acpi_strerror(a->err));
			dump_text(sig, a->hdr.sig, 4);
			dump_text(oem, a->hdr.oem, 6);
			dump_text(oem_table, a->hdr.oem_table, 8);
			snprintf(want, sizeof want,
				 "TABLE %s 0x%lx %u %u %s %s", sig, a->phys,
				 a->hdr.length, a->hdr.revision, oem,
				 oem_table);
			CHECK(dump_line(&d, "TABLE", (int)e, line,
					sizeof line) == 0);
			CHECKF(strcmp(line, want) == 0,
			       "tool: \"%s\", C: \"%s\"", line, want);
			snprintf(sigs + strlen(sigs),
				 sizeof sigs - strlen(sigs), "%s%s",
				 e ? " " : "", sig);
		}
		CHECKF(strcmp(sigs, q->tables) == 0, "tables \"%s\"", sigs);
		CHECK(acpi_table_find(&t, "APIC") != NULL);
		CHECK(acpi_table_find(&t, "XSDT") == NULL);
		CHECK(acpi_table_find(&t, "SSDT") == NULL);
		CHECK((acpi_table_find(&t, "HPET") != NULL) ==
		      (strstr(q->tables, "HPET") != NULL));
		/* One line per table: RSDP, RSDT, the listed ones. */
		out_reset();
		acpi_print_tables(&t, collect);
		{
			int lines = 0;

			for (size_t c = 0; c < out_len; c++)
				lines += out[c] == '\n';
			CHECKF(lines == 2 + (int)t.count, "%d lines", lines);
		}
next:
		alloc_reset();
		dump_free(&d);
		check_end();
	}
}

static void chain_print_pc_smp4(void)
{
	static const char want[] =
		"ACPI: RSDP 0x000f59d0 rev 0 BOCHS -> RSDT 0x7ffe1bef\n"
		"ACPI: RSDT 0x7ffe1bef    52 bytes rev 1 BOCHS  BXPC\n"
		"ACPI: FACP 0x7ffe1a8b   116 bytes rev 1 BOCHS  BXPC\n"
		"ACPI: APIC 0x7ffe1aff   144 bytes rev 1 BOCHS  BXPC\n"
		"ACPI: HPET 0x7ffe1b8f    56 bytes rev 1 BOCHS  BXPC\n"
		"ACPI: WAET 0x7ffe1bc7    40 bytes rev 1 BOCHS  BXPC\n";
	struct qemu_dump d;
	struct acpi_rsdp r;
	struct acpi_tables t;

	if (dump_load(&d, "pc-smp4") != 0) {
		CHECKF(0, "missing files in %s/%s", data_dir, d.dir);
		dump_free(&d);
		return;
	}
	CHECK(acpi_rsdp_find(d.bios, d.bios_size, ACPI_BIOS_AREA, &r) ==
	      ACPI_OK);
	mem_use(&d.mem);
	CHECK(acpi_tables_load(&r, &test_env, &t) == ACPI_OK);
	out_reset();
	acpi_print_tables(&t, collect);
	CHECKF(strcmp(out, want) == 0, "printed:\n%s", out);
	/* The header of every table was mapped before the table. */
	CHECK(mem_log_n == 2 * (1 + t.count));
	for (size_t k = 0; k + 1 < mem_log_n && k + 1 < MEM_LOG_MAX; k += 2)
		CHECKF(mem_log[k].size == ACPI_HEADER_SIZE &&
		       mem_log[k + 1].phys == mem_log[k].phys &&
		       mem_log[k + 1].size >= ACPI_HEADER_SIZE,
		       "map %zu: %lx+%zu", k, mem_log[k].phys,
		       mem_log[k].size);
	alloc_reset();
	dump_free(&d);
}

/* ---- Hand-made chains ---- */

/*
 * A small machine: an RSDP at 0xE0000, and tables wherever a case
 * puts them. Every case starts from chain_start(), which frees the
 * last case's image; tables are added with chain_table() and the
 * image is handed to mem_map().
 */
static struct mem chain;
static uint8_t chain_rsdp[36];

static void chain_start(void)
{
	mem_free(&chain);
	mem_use(&chain);
}

static void chain_table(uint64_t phys, const struct tb *t)
{
	mem_add(&chain, phys, t->b, t->len);
}

/* A little table of 40 bytes with this signature. */
static void small_table(struct tb *t, const char *sig)
{
	tb_table(t, sig, 1);
	tb_u32(t, 0x12345678);
	tb_end(t);
}

/* An APIC table at 0x2000, and an RSDT at rsdt that lists it. */
static void chain_one_table(uint64_t rsdt)
{
	struct tb r, a;

	chain_start();
	small_table(&a, "APIC");
	chain_table(0x2000, &a);
	tb_table(&r, "RSDT", 1);
	tb_u32(&r, 0x2000);
	tb_end(&r);
	chain_table(rsdt, &r);
}

/* Make chain_rsdp a revision 0 or 2 RSDP and decode it into *r. */
static int rsdp_v1_to(uint32_t rsdt, struct acpi_rsdp *r)
{
	tb_rsdp_v1(chain_rsdp, rsdt);
	return acpi_rsdp_check(chain_rsdp, 20, 0xE0000, r);
}

static int rsdp_v2_to(uint32_t rsdt, uint64_t xsdt, struct acpi_rsdp *r)
{
	tb_rsdp_v2(chain_rsdp, rsdt, xsdt);
	return acpi_rsdp_check(chain_rsdp, 36, 0xE0000, r);
}

static void chain_xsdt_preferred(void)
{
	struct tb x, r, a, b;
	struct acpi_rsdp rsdp;
	struct acpi_tables t;

	chain_start();
	small_table(&a, "FACP");
	small_table(&b, "APIC");
	chain_table(0x100000000ull, &a);         /* above 4 GiB */
	chain_table(0x7FFE2000, &b);
	tb_table(&x, "XSDT", 1);
	tb_u64(&x, 0x100000000ull);
	tb_u64(&x, 0x7FFE2000);
	tb_end(&x);
	chain_table(0x7FFE1000, &x);
	tb_table(&r, "RSDT", 1);                /* would list only APIC */
	tb_u32(&r, 0x7FFE2000);
	tb_end(&r);
	chain_table(0x7FFE3000, &r);
	CHECK(rsdp_v2_to(0x7FFE3000, 0x7FFE1000, &rsdp) == ACPI_OK);
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_OK);
	CHECK(t.use_xsdt && t.xsdt.err == ACPI_OK && t.rsdt.phys == 0);
	CHECK(t.count == 2);
	CHECK(t.table[0].phys == 0x100000000ull && t.table[0].err == 0);
	CHECK(memcmp(t.table[0].hdr.sig, "FACP", 4) == 0);
	for (size_t k = 0; k < mem_log_n && k < MEM_LOG_MAX; k++)
		CHECKF(mem_log[k].phys != 0x7FFE3000, "the RSDT was mapped");
	out_reset();
	acpi_print_tables(&t, collect);
	CHECKF(strstr(out, "ACPI: RSDP 0x000e0000 rev 2 TESTER -> XSDT "
		       "0x7ffe1000, RSDT 0x7ffe3000\n"
		       "ACPI: XSDT 0x7ffe1000    52 bytes rev 1 TESTER "
		       "CORNERS\n"
		       "ACPI: FACP 0x100000000    40 bytes") == out, "%s", out);
	alloc_reset();
}

static void chain_xsdt_bad_falls_back(void)
{
	struct tb x, r, a;
	struct acpi_rsdp rsdp;
	struct acpi_tables t;

	chain_start();
	small_table(&a, "APIC");
	chain_table(0x2000, &a);
	tb_table(&x, "XSDT", 1);
	tb_u64(&x, 0x2000);
	tb_end(&x);
	tb_break_checksum(&x);
	chain_table(0x1000, &x);
	tb_table(&r, "RSDT", 1);
	tb_u32(&r, 0x2000);
	tb_end(&r);
	chain_table(0x3000, &r);
	CHECK(rsdp_v2_to(0x3000, 0x1000, &rsdp) == ACPI_OK);
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_OK);
	CHECK(!t.use_xsdt && t.xsdt.err == ACPI_E_CHECKSUM);
	CHECK(t.xsdt.data == NULL && t.rsdt.err == ACPI_OK);
	CHECK(t.count == 1 && acpi_table_find(&t, "APIC") == &t.table[0]);
	out_reset();
	acpi_print_tables(&t, collect);
	CHECKF(strstr(out, "ACPI: XSDT 0x00001000    44 bytes: bad "
		       "checksum, skipped\nACPI: RSDT 0x00003000") != NULL,
	       "%s", out);
	alloc_reset();

	/* An XSDT with no RSDT to fall back on: no tables at all. */
	CHECK(rsdp_v2_to(0, 0x1000, &rsdp) == ACPI_OK);
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_E_CHECKSUM);
	CHECK(t.count == 0 && t.table == NULL);
	/* An XSDT that is really an RSDT, say. */
	CHECK(rsdp_v2_to(0, 0x3000, &rsdp) == ACPI_OK);
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_E_SIGNATURE);
	alloc_reset();
}

static void chain_rsdt_when_no_xsdt(void)
{
	struct acpi_rsdp rsdp;
	struct acpi_tables t;

	chain_one_table(0x3000);
	/* Revision 2 with XsdtAddress 0. */
	CHECK(rsdp_v2_to(0x3000, 0, &rsdp) == ACPI_OK);
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_OK);
	CHECK(!t.use_xsdt && t.xsdt.phys == 0 && t.count == 1);
	alloc_reset();
	/* Revision 0 followed by bytes that would be an XsdtAddress. */
	tb_rsdp_v1(chain_rsdp, 0x3000);
	memset(chain_rsdp + 20, 0x11, 16);
	CHECK(acpi_rsdp_check(chain_rsdp, 36, 0xE0000, &rsdp) == ACPI_OK);
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_OK);
	CHECK(!t.use_xsdt && t.xsdt.phys == 0 && t.count == 1);
	alloc_reset();
	/* A revision 0 RSDP never leads to an XSDT, whatever the
	 * structure's xsdt field says. */
	rsdp.xsdt = 0x5000;
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_OK);
	CHECK(!t.use_xsdt && t.xsdt.phys == 0 && t.count == 1);
	alloc_reset();
	/* No root table: RsdtAddress 0, or unmapped. */
	CHECK(rsdp_v1_to(0, &rsdp) == ACPI_OK);
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_E_NULL);
	CHECK(rsdp_v1_to(0x9000, &rsdp) == ACPI_OK);
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_E_UNMAPPED);
	CHECK(t.rsdt.err == ACPI_E_UNMAPPED && !t.rsdt.have_header);
	alloc_reset();
}

/*
 * One root table listing every way a table can fail, between good
 * ones: each bad one is reported by name and skipped, the good ones
 * after it are still used.
 */
static void chain_bad_tables_skipped(void)
{
	static const char want[] =
		"ACPI: RSDP 0x000e0000 rev 0 TESTER -> RSDT 0x00001000\n"
		"ACPI: RSDT 0x00001000    68 bytes rev 1 TESTER CORNERS\n"
		"ACPI: FACP 0x00002000    40 bytes rev 1 TESTER CORNERS\n"
		"ACPI: HPET 0x00003000    40 bytes: bad checksum, skipped\n"
		"ACPI: ???? 0x00000000: null address, skipped\n"
		"ACPI: ???? 0x00009000: cannot be mapped, skipped\n"
		"ACPI: SHRT 0x00004000    20 bytes: bad length, skipped\n"
		"ACPI: HUGE 0x00005000 4294967295 bytes: bad length, "
		"skipped\n"
		"ACPI: LONG 0x00006000   400 bytes: cannot be mapped, "
		"skipped\n"
		"ACPI: APIC 0x00007000    40 bytes rev 1 TESTER CORNERS\n";
	struct tb r, good1, bad_sum, shrt, huge, lng, good2;
	struct acpi_rsdp rsdp;
	struct acpi_tables t;

	chain_start();
	small_table(&good1, "FACP");
	chain_table(0x2000, &good1);
	small_table(&bad_sum, "HPET");
	tb_break_checksum(&bad_sum);
	chain_table(0x3000, &bad_sum);
	small_table(&shrt, "SHRT");
	tb_set32(&shrt, 4, 20);
	chain_table(0x4000, &shrt);
	small_table(&huge, "HUGE");
	tb_set32(&huge, 4, 0xFFFFFFFF);
	chain_table(0x5000, &huge);
	small_table(&lng, "LONG");             /* says 400, has 40 */
	tb_set32(&lng, 4, 400);
	chain_table(0x6000, &lng);
	small_table(&good2, "APIC");
	chain_table(0x7000, &good2);
	tb_table(&r, "RSDT", 1);
	tb_u32(&r, 0x2000);
	tb_u32(&r, 0x3000);
	tb_u32(&r, 0);
	tb_u32(&r, 0x9000);
	tb_u32(&r, 0x4000);
	tb_u32(&r, 0x5000);
	tb_u32(&r, 0x6000);
	tb_u32(&r, 0x7000);
	tb_end(&r);
	chain_table(0x1000, &r);
	CHECK(rsdp_v1_to(0x1000, &rsdp) == ACPI_OK);
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_OK);
	CHECK(t.count == 8);
	CHECK(t.table[1].err == ACPI_E_CHECKSUM && t.table[1].data == NULL);
	CHECK(acpi_table_find(&t, "HPET") == NULL);
	CHECK(acpi_table_find(&t, "FACP") == &t.table[0]);
	CHECK(acpi_table_find(&t, "APIC") == &t.table[7]);
	out_reset();
	acpi_print_tables(&t, collect);
	CHECKF(strcmp(out, want) == 0, "printed:\n%s", out);
	/* HUGE: only its header was ever mapped. */
	for (size_t k = 0; k < mem_log_n && k < MEM_LOG_MAX; k++)
		CHECKF(mem_log[k].phys != 0x5000 ||
		       mem_log[k].size == ACPI_HEADER_SIZE,
		       "HUGE mapped with size %zu", mem_log[k].size);
	alloc_reset();
}

static void chain_no_memory(void)
{
	struct tb r;
	struct acpi_rsdp rsdp;
	struct acpi_tables t;

	chain_one_table(0x1000);
	CHECK(rsdp_v1_to(0x1000, &rsdp) == ACPI_OK);
	alloc_fail = 1;
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_E_NO_MEMORY);
	CHECK(t.count == 0 && t.table == NULL);
	alloc_reset();
	/* An empty root table needs no memory at all. */
	tb_table(&r, "RSDT", 1);
	tb_end(&r);
	chain_table(0x8000, &r);
	CHECK(rsdp_v1_to(0x8000, &rsdp) == ACPI_OK);
	alloc_fail = 1;
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_OK);
	CHECK(t.count == 0);
	alloc_reset();
}

/* Entries near the top of the address space: the walk must not ask
 * the map hook for a range that wraps around. */
static void chain_address_wrap(void)
{
	struct tb x, top;
	struct acpi_rsdp rsdp;
	struct acpi_tables t;

	chain_start();
	/* The last 64 bytes below 2^64 hold a header whose Length (256)
	 * would end past 2^64. */
	tb_table(&top, "WRAP", 1);
	tb_end(&top);
	tb_set32(&top, 4, 0x100);
	top.len = 64;
	chain_table(0xFFFFFFFFFFFFFFC0ull, &top);
	tb_table(&x, "XSDT", 1);
	tb_u64(&x, 0xFFFFFFFFFFFFFFF0ull);
	tb_u64(&x, 0xFFFFFFFFFFFFFFDCull);   /* 2^64 - 36 */
	tb_u64(&x, 0xFFFFFFFFFFFFFFC0ull);
	tb_end(&x);
	chain_table(0x1000, &x);
	CHECK(rsdp_v2_to(0, 0x1000, &rsdp) == ACPI_OK);
	CHECK(acpi_tables_load(&rsdp, &test_env, &t) == ACPI_OK);
	CHECK(t.count == 3 && t.table[0].err == ACPI_E_UNMAPPED);
	CHECK(t.table[1].err == ACPI_E_UNMAPPED);
	CHECK(t.table[2].err == ACPI_E_UNMAPPED && t.table[2].have_header);
	CHECK(memcmp(t.table[2].hdr.sig, "WRAP", 4) == 0);
	for (size_t k = 0; k < mem_log_n && k < MEM_LOG_MAX; k++)
		CHECKF(mem_log[k].size <= UINT64_MAX - mem_log[k].phys + 1,
		       "wrapping map %lx+%zu", mem_log[k].phys,
		       mem_log[k].size);
	alloc_reset();
}

/* ---- Seeds for the fuzzer ---- */

/* Rebuild the hand-made chains above and write them as memory images
 * (the RSDP's segment first, as the chain fuzzer expects). */
static int write_seeds(const char *dir)
{
	static void (*const cases[])(void) = {
		chain_xsdt_preferred, chain_xsdt_bad_falls_back,
		chain_rsdt_when_no_xsdt, chain_bad_tables_skipped,
	};
	static const char *names[] = {
		"xsdt-preferred", "xsdt-bad", "rsdt-no-xsdt", "bad-tables",
	};
	uint8_t area[512] = { 0 };
	int status = 0;
	struct tb x;

	/* Lone RSDPs and a search area, for the RSDP target. */
	tb_rsdp_v1(area, 0x7FFE0000);
	status |= write_data(dir, "rsdp-v1.bin", area, 20);
	tb_rsdp_v2(area, 0x7FFE0000, 0x100000000ull);
	status |= write_data(dir, "rsdp-v2.bin", area, 36);
	memset(area, 0, sizeof area);
	tb_rsdp_v1(area + 0x10, 0x1111);
	area[0x10 + 19] ^= 1;
	tb_rsdp_v2(area + 0x40, 0x2222, 0x3333);
	area[0x40 + 33] = 7;
	tb_rsdp_v2(area + 0x100, 0x4444, 0x5555);
	status |= write_data(dir, "rsdp-area.bin", area, sizeof area);
	/* An XSDT with 64-bit entries, for the root target. */
	tb_table(&x, "XSDT", 1);
	tb_u64(&x, 0x100000000ull);
	tb_u64(&x, 0x7FFE0000);
	tb_end(&x);
	status |= write_data(dir, "xsdt-64bit.bin", x.b, x.len);

	for (int i = 0; i < N(cases); i++) {
		struct mem img = { 0 };
		char path[4096];

		/* Each case leaves its last image in chain, and its last
		 * RSDP in chain_rsdp. */
		cases[i]();
		mem_add(&img, 0xE0000, chain_rsdp, sizeof chain_rsdp);
		for (size_t s = 0; s < chain.n; s++)
			mem_add(&img, chain.seg[s].phys, chain.seg[s].bytes,
				chain.seg[s].size);
		snprintf(path, sizeof path, "%s/chain-%s.bin", dir, names[i]);
		if (mem_write(&img, path) != 0) {
			printf("cannot write %s\n", path);
			status = 1;
		}
		mem_free(&img);
	}
	mem_free(&chain);
	return status;
}

int main(int argc, char **argv)
{
	data_dir_init(argv[0]);
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		return write_seeds(argv[2]);
	RUN(text_sanitised);
	RUN(strerror_distinct);
	RUN(ebda_area);
	RUN(rsdp_v1);
	RUN(rsdp_v2);
	rsdp_qemu();
	RUN(rsdp_search_boundaries);
	RUN(rsdp_search_skips_bad);
	RUN(header_read);
	RUN(table_check);
	tables_qemu_checksums();
	root_rsdt_qemu();
	RUN(root_xsdt_64bit);
	RUN(root_partial_entry);
	RUN(root_too_many);
	chain_qemu();
	RUN(chain_print_pc_smp4);
	RUN(chain_xsdt_preferred);
	RUN(chain_xsdt_bad_falls_back);
	RUN(chain_rsdt_when_no_xsdt);
	RUN(chain_bad_tables_skipped);
	RUN(chain_no_memory);
	RUN(chain_address_wrap);
	mem_free(&chain);
	check_begin("corner_files_current");
	check_corner_files(write_seeds, "test_acpi");
	check_end();
	return check_done("test_acpi");
}
