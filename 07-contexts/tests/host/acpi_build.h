/*
 * acpi_build.h: building ACPI tables byte by byte, for the host tests'
 * hand-made cases (and the fuzzers' hand-made seeds).
 *
 *     struct tb t;
 *     tb_table(&t, "APIC", 1);          // header, Length and checksum
 *     tb_u32(&t, 0xFEE00000);           // left for tb_end()
 *     tb_u32(&t, MADT_PCAT_COMPAT);
 *     tb_lapic(&t, 0, 0, MADT_CPU_ENABLED);
 *     tb_end(&t);                       // Length = bytes so far, and
 *                                       // the checksum that makes the
 *                                       // sum 0
 *
 * A case that needs a wrong Length or checksum changes the bytes after
 * tb_end() (tb_set32(), tb_break_checksum()).
 */
#ifndef ACPI_BUILD_H
#define ACPI_BUILD_H

#include <stdint.h>
#include <string.h>

#define TB_MAX 8192

struct tb {
	uint8_t b[TB_MAX];
	size_t len;
};

static __attribute__((unused)) void tb_u8(struct tb *t, uint8_t v)
{
	if (t->len < TB_MAX)
		t->b[t->len++] = v;
}

static __attribute__((unused)) void tb_u16(struct tb *t, uint16_t v)
{
	tb_u8(t, (uint8_t)v);
	tb_u8(t, (uint8_t)(v >> 8));
}

static __attribute__((unused)) void tb_u32(struct tb *t, uint32_t v)
{
	tb_u16(t, (uint16_t)v);
	tb_u16(t, (uint16_t)(v >> 16));
}

static __attribute__((unused)) void tb_u64(struct tb *t, uint64_t v)
{
	tb_u32(t, (uint32_t)v);
	tb_u32(t, (uint32_t)(v >> 32));
}

static __attribute__((unused)) void tb_text(struct tb *t, const char *s,
					    size_t n)
{
	for (size_t i = 0; i < n; i++)
		tb_u8(t, (uint8_t)s[i]);
}

static __attribute__((unused)) void tb_set32(struct tb *t, size_t at,
					     uint32_t v)
{
	for (int i = 0; i < 4; i++)
		t->b[at + i] = (uint8_t)(v >> 8 * i);
}

/* Make bytes [0, n) sum to 0 by setting the byte at offset at. */
static __attribute__((unused)) void tb_fix_sum(uint8_t *p, size_t n,
					       size_t at)
{
	uint8_t sum = 0;

	p[at] = 0;
	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	p[at] = (uint8_t)-sum;
}

/* A 36-byte header with OEM "TESTER" / "CORNERS ", creator "TEST". */
static __attribute__((unused)) void tb_table(struct tb *t, const char *sig,
					     uint8_t revision)
{
	t->len = 0;
	tb_text(t, sig, 4);
	tb_u32(t, 0);              /* Length: tb_end() */
	tb_u8(t, revision);
	tb_u8(t, 0);               /* Checksum: tb_end() */
	tb_text(t, "TESTER", 6);
	tb_text(t, "CORNERS ", 8);
	tb_u32(t, 1);
	tb_text(t, "TEST", 4);
	tb_u32(t, 1);
}

static __attribute__((unused)) void tb_end(struct tb *t)
{
	tb_set32(t, 4, (uint32_t)t->len);
	tb_fix_sum(t->b, t->len, 9);
}

static __attribute__((unused)) void tb_break_checksum(struct tb *t)
{
	t->b[9] ^= 0x5A;
}

/* ---- MADT records ---- */

static __attribute__((unused)) void tb_madt(struct tb *t, uint32_t lapic,
					    uint32_t flags)
{
	tb_table(t, "APIC", 1);
	tb_u32(t, lapic);
	tb_u32(t, flags);
}

static __attribute__((unused)) void tb_lapic(struct tb *t, uint8_t uid,
					     uint8_t apic_id, uint32_t flags)
{
	tb_u8(t, 0);
	tb_u8(t, 8);
	tb_u8(t, uid);
	tb_u8(t, apic_id);
	tb_u32(t, flags);
}

static __attribute__((unused)) void tb_ioapic(struct tb *t, uint8_t id,
					      uint32_t address, uint32_t gsi)
{
	tb_u8(t, 1);
	tb_u8(t, 12);
	tb_u8(t, id);
	tb_u8(t, 0);
	tb_u32(t, address);
	tb_u32(t, gsi);
}

static __attribute__((unused)) void tb_override(struct tb *t, uint8_t irq,
						uint32_t gsi, uint16_t flags)
{
	tb_u8(t, 2);
	tb_u8(t, 10);
	tb_u8(t, 0);               /* bus: ISA */
	tb_u8(t, irq);
	tb_u32(t, gsi);
	tb_u16(t, flags);
}

static __attribute__((unused)) void tb_nmi(struct tb *t, uint8_t uid,
					   uint16_t flags, uint8_t lint)
{
	tb_u8(t, 4);
	tb_u8(t, 6);
	tb_u8(t, uid);
	tb_u16(t, flags);
	tb_u8(t, lint);
}

static __attribute__((unused)) void tb_lapic_address(struct tb *t,
						     uint64_t address)
{
	tb_u8(t, 5);
	tb_u8(t, 12);
	tb_u16(t, 0);
	tb_u64(t, address);
}

static __attribute__((unused)) void tb_x2apic(struct tb *t, uint32_t apic_id,
					      uint32_t flags, uint32_t uid)
{
	tb_u8(t, 9);
	tb_u8(t, 16);
	tb_u16(t, 0);
	tb_u32(t, apic_id);
	tb_u32(t, flags);
	tb_u32(t, uid);
}

/* Any record: type, length, then length - 2 bytes of filler. */
static __attribute__((unused)) void tb_record(struct tb *t, uint8_t type,
					      uint8_t length)
{
	tb_u8(t, type);
	tb_u8(t, length);
	for (int i = 2; i < length; i++)
		tb_u8(t, (uint8_t)(0xA0 + i));
}

/* ---- RSDPs ---- */

/* A revision 0 RSDP (20 bytes) into p. */
static __attribute__((unused)) void tb_rsdp_v1(uint8_t *p, uint32_t rsdt)
{
	struct tb t = { .len = 0 };

	tb_text(&t, "RSD PTR ", 8);
	tb_u8(&t, 0);
	tb_text(&t, "TESTER", 6);
	tb_u8(&t, 0);
	tb_u32(&t, rsdt);
	tb_fix_sum(t.b, 20, 8);
	memcpy(p, t.b, 20);
}

/* A revision 2 RSDP (36 bytes) into p. */
static __attribute__((unused)) void tb_rsdp_v2(uint8_t *p, uint32_t rsdt,
					       uint64_t xsdt)
{
	struct tb t = { .len = 0 };

	tb_text(&t, "RSD PTR ", 8);
	tb_u8(&t, 0);
	tb_text(&t, "TESTER", 6);
	tb_u8(&t, 2);
	tb_u32(&t, rsdt);
	tb_u32(&t, 36);
	tb_u64(&t, xsdt);
	tb_u8(&t, 0);
	tb_text(&t, "\0\0\0", 3);
	tb_fix_sum(t.b, 20, 8);
	tb_fix_sum(t.b, 36, 32);
	memcpy(p, t.b, 36);
}

#endif /* ACPI_BUILD_H */
