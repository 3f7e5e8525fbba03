/*
 * acpi_setup.h: the kernel's ACPI tables, found and checked once at
 * boot (acpi_setup.c), for the code that needs them.
 */
#ifndef ACPI_SETUP_H
#define ACPI_SETUP_H

#include "acpi.h"
#include "madt.h"

/* Find and check every table, read the MADT, and make the boot CPU
 * (whose local APIC lapic_setup() found) CPU index 0. Boot CPU,
 * interrupts off, after lapic_setup(). */
void acpi_setup(void);

/* The MADT, or NULL when there is none the kernel can use (the kernel
 * then runs on the boot CPU alone). */
const struct madt *acpi_madt(void);

/* The first good table with this signature ("FACP", "HPET"), or NULL. */
const struct acpi_table *acpi_find(const char *sig);

#endif /* ACPI_SETUP_H */
