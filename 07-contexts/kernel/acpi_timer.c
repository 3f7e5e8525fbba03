/*
 * acpi_timer.c: reads the FADT's power-management timer block and the
 * HPET table. Pure logic, like acpi.c.
 */
#include <stddef.h>
#include <stdint.h>

#include "acpi.h"
#include "acpi_timer.h"

/**
 * ## Two tables that name a clock
 *
 * A CPU has fast clocks of its own, the time-stamp counter and the
 * local APIC's timer (clock.c), but nothing says how fast they tick:
 * their rate depends on the model, the bus, the emulator. To measure
 * it, the kernel needs a clock whose rate is *known*, and ACPI names
 * two of them.
 *
 * - The **FADT** (signature `FACP`, the *Fixed ACPI Description
 *   Table*) describes the chipset's "fixed" ACPI hardware. Part of it
 *   is the *power-management timer*, a counter that every ACPI PC
 *   has, counting at exactly 3.579545 MHz. Its register is an I/O
 *   port, given in PM_TMR_BLK at offset 76, and PM_TMR_LEN at offset
 *   91 is 4 (bytes) when there is a timer. Bit 8 of the Flags at
 *   offset 112, TMR_VAL_EXT, says whether the counter has 32 bits;
 *   without it, only the low 24 count and the rest read as 0. ACPI 2.0
 *   added 64-bit versions of every address, as *Generic Address
 *   Structures* (GAS, 12 bytes: address space, bit width, bit offset,
 *   access size, then the 64-bit address); X_PM_TMR_BLK at offset 208
 *   is the timer's. When it is there and not 0, the spec says to use
 *   it and ignore PM_TMR_BLK.
 * - The **HPET table** describes the *High Precision Event Timer*, a
 *   64-bit counter in memory-mapped registers. The table gives their
 *   address (a GAS at offset 40, which must be in memory space); the
 *   counter's rate is in the HPET's own registers (clock.c).
 *
 * QEMU 7.2 gives both: the PM timer at port 0x608 (24 bits) on pc and
 * q35 alike (q35's revision 3 FADT names the same port in
 * X_PM_TMR_BLK), and an HPET at 0xFED00000, unless QEMU runs with
 * `-machine q35,hpet=off`, which drops the device and its table.
 *
 * Two cases mean "no PM timer" rather than an error: an address of 0,
 * and a *hardware-reduced* platform (Flags bit 20), which has no fixed
 * ACPI hardware at all (some tablets and ARM-style machines). A timer
 * in memory space (GAS address space 0) is allowed by the spec, but no
 * PC firmware we know of uses it, and Linux does not accept it either:
 * we report it as unsupported rather than guess.
 */
int acpi_fadt_pm_timer(const void *p, size_t len, struct acpi_pm_timer *t)
{
	const uint8_t *b = p;
	struct acpi_header h;
	uint32_t flags = 0;
	uint64_t port;
	int err;

	err = acpi_table_check(p, len, "FACP", &h);
	if (err != ACPI_OK)
		return err;
	if (h.length < FADT_PM_TMR_LEN + 1)
		return ACPI_E_LENGTH;
	if (h.length >= FADT_FLAGS + 4)
		flags = acpi_get32(b + FADT_FLAGS);
	if (flags & FADT_HW_REDUCED)
		return ACPI_E_NOT_FOUND;
	t->bits = flags & FADT_TMR_VAL_EXT ? 32 : 24;
	t->from_x = 0;
	port = acpi_get32(b + FADT_PM_TMR_BLK);
	if (h.length >= FADT_X_PM_TMR_BLK + 12 &&
	    acpi_get64(b + FADT_X_PM_TMR_BLK + 4) != 0) {
		if (b[FADT_X_PM_TMR_BLK] != ACPI_GAS_IO)
			return ACPI_E_UNSUPPORTED;
		port = acpi_get64(b + FADT_X_PM_TMR_BLK + 4);
		t->from_x = 1;
	} else if (port != 0 && b[FADT_PM_TMR_LEN] != 4) {
		return ACPI_E_LENGTH;
	}
	if (port == 0)
		return ACPI_E_NOT_FOUND;
	if (port > 0xFFFC)          /* a 4-byte port must fit below 64 Ki */
		return ACPI_E_UNSUPPORTED;
	t->port = (uint16_t)port;
	return ACPI_OK;
}

/**
 * The HPET table is short and fixed (IA-PC HPET specification 1.0a,
 * table 3):
 *
 * | offset | size | field |
 * |---:|---:|---|
 * | 0 | 36 | the usual header, signature `HPET` |
 * | 36 | 4 | Event Timer Block ID (QEMU: 0x8086A201) |
 * | 40 | 12 | Base Address, a GAS: the registers |
 * | 52 | 1 | HPET Number |
 * | 53 | 2 | Main Counter Minimum Clock_tick in Periodic Mode |
 * | 55 | 1 | Page Protection and OEM Attribute |
 */
int acpi_hpet_parse(const void *p, size_t len, struct acpi_hpet *h)
{
	const uint8_t *b = p;
	struct acpi_header hdr;
	int err;

	err = acpi_table_check(p, len, "HPET", &hdr);
	if (err != ACPI_OK)
		return err;
	if (hdr.length < HPET_TABLE_SIZE)
		return ACPI_E_LENGTH;
	if (b[40] != ACPI_GAS_MEMORY)
		return ACPI_E_UNSUPPORTED;
	h->block_id = acpi_get32(b + 36);
	h->address = acpi_get64(b + 44);
	h->number = b[52];
	h->min_tick = acpi_get16(b + 53);
	return h->address != 0 ? ACPI_OK : ACPI_E_NULL;
}
