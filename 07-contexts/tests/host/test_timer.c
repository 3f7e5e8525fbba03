/*
 * test_timer.c: host unit tests for kernel/acpi_timer.c: the FADT's PM
 * timer block and the HPET table, on QEMU's dumped tables (all 18
 * configurations) and on hand-made tables for what QEMU never shows:
 * 32-bit timers, X_PM_TMR_BLK, memory-space addresses, hardware-reduced
 * platforms, short and corrupt tables.
 *
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
 *       -I kernel -o build/host/test_timer tests/host/test_timer.c
 *   build/host/test_timer
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../../kernel/acpi.c"
#include "../../kernel/acpi_timer.c"
#include "format.c"
#include "acpi_build.h"
#include "acpi_test.h"

/* ---- QEMU's tables ---- */

/* Every dump: the PM timer at port 0x608, 24 bits; q35's revision 3
 * FADT gives it in X_PM_TMR_BLK, pc's revision 1 FADT cannot. The
 * HPET at 0xFED00000 wherever the RSDT lists one. */
static void qemu_timers(void)
{
	for (size_t i = 0; i < NCONFIGS; i++) {
		const struct qemu_config *c = &qemu_configs[i];
		bool q35 = strncmp(c->name, "q35", 3) == 0;
		bool hpet = strstr(c->tables, "HPET") != NULL;
		struct acpi_pm_timer pm;
		struct acpi_hpet h;
		char dir[80];
		size_t size;
		uint8_t *b;

		check_begin("qemu_timers/%s", c->name);
		snprintf(dir, sizeof dir, "qemu/%s", c->name);
		b = read_data(dir, "FACP.bin", &size);
		CHECKF(b != NULL, "no FACP.bin");
		if (b != NULL) {
			CHECK(acpi_fadt_pm_timer(b, size, &pm) == ACPI_OK);
			CHECKF(pm.port == 0x608 && pm.bits == 24,
			       "port %x, %u bits", pm.port, pm.bits);
			CHECKF(pm.from_x == q35, "from_x %u", pm.from_x);
		}
		free(b);
		b = read_data(dir, "HPET.bin", &size);
		CHECKF((b != NULL) == hpet, "HPET.bin %s",
		       b ? "present" : "missing");
		if (b != NULL) {
			CHECK(acpi_hpet_parse(b, size, &h) == ACPI_OK);
			CHECKF(h.address == 0xFED00000 &&
			       h.block_id == 0x8086A201 && h.number == 0,
			       "%lx %x %u", (unsigned long)h.address,
			       h.block_id, h.number);
		}
		free(b);
		check_end();
	}
}

/* ---- Hand-made FADTs ---- */

/* A FADT of `length` bytes (116: revision 1; 244: revision 3) with the
 * legacy timer at `port`, `tmr_len`, and `flags`. */
static void fadt(struct tb *t, uint32_t length, uint32_t port,
		 uint8_t tmr_len, uint32_t flags)
{
	tb_table(t, "FACP", length > 116 ? 3 : 1);
	while (t->len < length)
		tb_u8(t, 0);
	tb_set32(t, FADT_PM_TMR_BLK, port);
	t->b[FADT_PM_TMR_LEN] = tmr_len;
	if (length >= FADT_FLAGS + 4)
		tb_set32(t, FADT_FLAGS, flags);
	tb_end(t);
}

/* Set X_PM_TMR_BLK: address space, then the 64-bit address. */
static void fadt_x(struct tb *t, uint8_t space, uint64_t address)
{
	uint8_t *g = t->b + FADT_X_PM_TMR_BLK;

	g[0] = space;
	g[1] = 32;                       /* bit width */
	for (int i = 0; i < 8; i++)
		g[4 + i] = (uint8_t)(address >> (8 * i));
	tb_fix_sum(t->b, t->len, 9);
}

static void fadt_legacy(void)
{
	struct tb t;
	struct acpi_pm_timer pm;

	fadt(&t, 116, 0x408, 4, 0);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_OK);
	CHECK(pm.port == 0x408 && pm.bits == 24 && pm.from_x == 0);
	fadt(&t, 116, 0x408, 4, FADT_TMR_VAL_EXT);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_OK);
	CHECKF(pm.bits == 32, "%u bits", pm.bits);
}

static void fadt_x_block_preferred(void)
{
	struct tb t;
	struct acpi_pm_timer pm;

	fadt(&t, 244, 0x408, 4, 0);
	fadt_x(&t, ACPI_GAS_IO, 0x1808);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_OK);
	CHECKF(pm.port == 0x1808 && pm.from_x == 1, "%x", pm.port);
	/* X_PM_TMR_BLK 0: the legacy field counts. */
	fadt(&t, 244, 0x408, 4, 0);
	fadt_x(&t, ACPI_GAS_IO, 0);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_OK);
	CHECK(pm.port == 0x408 && pm.from_x == 0);
	/* Only X_PM_TMR_BLK: PM_TMR_LEN is not looked at. */
	fadt(&t, 244, 0, 0, 0);
	fadt_x(&t, ACPI_GAS_IO, 0x608);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_OK);
	CHECK(pm.port == 0x608);
}

static void fadt_no_timer(void)
{
	struct tb t;
	struct acpi_pm_timer pm;

	fadt(&t, 116, 0, 0, 0);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_E_NOT_FOUND);
	fadt(&t, 244, 0x408, 4, FADT_HW_REDUCED);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_E_NOT_FOUND);
}

static void fadt_unsupported(void)
{
	struct tb t;
	struct acpi_pm_timer pm;

	fadt(&t, 244, 0x408, 4, 0);
	fadt_x(&t, ACPI_GAS_MEMORY, 0xFED40000);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_E_UNSUPPORTED);
	fadt(&t, 244, 0, 0, 0);
	fadt_x(&t, ACPI_GAS_IO, 0x10000);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_E_UNSUPPORTED);
	fadt(&t, 116, 0xFFFE, 4, 0);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_E_UNSUPPORTED);
}

static void fadt_bad(void)
{
	struct tb t;
	struct acpi_pm_timer pm;

	fadt(&t, 116, 0x608, 2, 0);           /* PM_TMR_LEN must be 4 */
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_E_LENGTH);
	fadt(&t, 88, 0x608, 0, 0);            /* ends before PM_TMR_LEN */
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_E_LENGTH);
	fadt(&t, 116, 0x608, 4, 0);
	tb_break_checksum(&t);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_E_CHECKSUM);
	fadt(&t, 116, 0x608, 4, 0);
	CHECK(acpi_fadt_pm_timer(t.b, t.len - 1, &pm) == ACPI_E_TRUNCATED);
	memcpy(t.b, "APIC", 4);
	tb_fix_sum(t.b, t.len, 9);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_E_SIGNATURE);
	/* A revision 1 FADT cut before Flags: 24 bits, no error. */
	fadt(&t, 100, 0x608, 4, 0);
	CHECK(acpi_fadt_pm_timer(t.b, t.len, &pm) == ACPI_OK);
	CHECK(pm.bits == 24);
}

/* ---- Hand-made HPET tables ---- */

static void hpet_table(struct tb *t, uint8_t space, uint64_t address)
{
	tb_table(t, "HPET", 1);
	tb_u32(t, 0x8086A201);
	tb_u8(t, space);
	tb_u8(t, 64);
	tb_u8(t, 0);
	tb_u8(t, 0);
	tb_u64(t, address);
	tb_u8(t, 2);                           /* HPET number */
	tb_u16(t, 0x80);                       /* minimum tick */
	tb_u8(t, 0);
	tb_end(t);
}

static void hpet_cases(void)
{
	struct tb t;
	struct acpi_hpet h;

	hpet_table(&t, ACPI_GAS_MEMORY, 0xFED00000);
	CHECK(t.len == HPET_TABLE_SIZE);
	CHECK(acpi_hpet_parse(t.b, t.len, &h) == ACPI_OK);
	CHECK(h.address == 0xFED00000 && h.number == 2 && h.min_tick == 0x80);
	hpet_table(&t, ACPI_GAS_MEMORY, 0x1FED00000ull);
	CHECK(acpi_hpet_parse(t.b, t.len, &h) == ACPI_OK);
	CHECK(h.address == 0x1FED00000ull);
	hpet_table(&t, ACPI_GAS_IO, 0x1000);
	CHECK(acpi_hpet_parse(t.b, t.len, &h) == ACPI_E_UNSUPPORTED);
	hpet_table(&t, ACPI_GAS_MEMORY, 0);
	CHECK(acpi_hpet_parse(t.b, t.len, &h) == ACPI_E_NULL);
	hpet_table(&t, ACPI_GAS_MEMORY, 0xFED00000);
	tb_set32(&t, 4, 52);                   /* Length 52: too short */
	tb_fix_sum(t.b, 52, 9);
	CHECK(acpi_hpet_parse(t.b, t.len, &h) == ACPI_E_LENGTH);
	hpet_table(&t, ACPI_GAS_MEMORY, 0xFED00000);
	tb_break_checksum(&t);
	CHECK(acpi_hpet_parse(t.b, t.len, &h) == ACPI_E_CHECKSUM);
	CHECK(acpi_hpet_parse(t.b, 20, &h) == ACPI_E_TRUNCATED);
}

int main(int argc, char **argv)
{
	(void)argc;
	data_dir_init(argv[0]);
	qemu_timers();
	RUN(fadt_legacy);
	RUN(fadt_x_block_preferred);
	RUN(fadt_no_timer);
	RUN(fadt_unsupported);
	RUN(fadt_bad);
	RUN(hpet_cases);
	return check_done("test_timer");
}
