/*
 * acpi_timer.h: the two ACPI tables that describe a timer: the FADT,
 * for its power-management timer, and the HPET table.
 *
 * Pure logic, like acpi.c: each function reads only the bytes of one
 * table that it is given, so the host tests (tests/host/test_timer.c)
 * and a fuzz target (fuzz/timer.c) compile this very code. clock.c
 * uses what they find to calibrate the CPU's own clocks.
 */
#ifndef ACPI_TIMER_H
#define ACPI_TIMER_H

#include <stddef.h>
#include <stdint.h>

/* The ACPI PM timer counts at this fixed rate, 3.579545 MHz (ACPI
 * spec, "Power Management Timer"). */
#define ACPI_PM_TIMER_HZ 3579545u

/* The address spaces of a Generic Address Structure (GAS) that we
 * accept. */
#define ACPI_GAS_MEMORY 0u  /* System Memory: an MMIO register */
#define ACPI_GAS_IO     1u  /* System I/O: a port, IN and OUT */

/* FADT fields we read (ACPI spec, "Fixed ACPI Description Table"):
 * offsets from the start of the table, header included. */
#define FADT_PM_TMR_BLK   76u   /* u32: the timer's I/O port */
#define FADT_PM_TMR_LEN   91u   /* u8: 4, or 0 for no timer */
#define FADT_FLAGS        112u  /* u32 */
#define FADT_X_PM_TMR_BLK 208u  /* GAS (12 bytes), ACPI 2.0 on */
#define FADT_TMR_VAL_EXT  (1u << 8)   /* Flags: 32-bit counter */
#define FADT_HW_REDUCED   (1u << 20)  /* Flags: HW_REDUCED_ACPI, no
                                         fixed hardware at all */

struct acpi_pm_timer {
	uint16_t port;   /* the I/O port of the 32-bit timer register */
	uint8_t bits;    /* the counter's width: 24, or 32 with
	                    TMR_VAL_EXT */
	uint8_t from_x;  /* 1 if X_PM_TMR_BLK gave the address */
};

/* The FADT at p (len bytes readable, acpi_table_check()ed by the
 * caller or not: it is checked again) and the PM timer it describes.
 * ACPI_OK and *t; ACPI_E_NOT_FOUND when the machine has none (address
 * 0, or a hardware-reduced platform); ACPI_E_LENGTH when PM_TMR_LEN is
 * not 4; ACPI_E_UNSUPPORTED for a timer that is not an I/O port. */
int acpi_fadt_pm_timer(const void *p, size_t len, struct acpi_pm_timer *t);

/* The HPET table (signature "HPET", IA-PC HPET specification 1.0a,
 * table 3): the event timer block's id and registers. */
#define HPET_TABLE_SIZE 56u

struct acpi_hpet {
	uint32_t block_id;   /* Event Timer Block ID: vendor, counters */
	uint64_t address;    /* its 1 KiB of registers, physical */
	uint8_t number;      /* HPET Number: which block this is */
	uint16_t min_tick;   /* Main Counter Minimum Clock_tick */
};

/* ACPI_OK and *h; ACPI_E_UNSUPPORTED when the registers are not in
 * memory space; ACPI_E_NULL for address 0; the table's own error. */
int acpi_hpet_parse(const void *p, size_t len, struct acpi_hpet *h);

#endif /* ACPI_TIMER_H */
