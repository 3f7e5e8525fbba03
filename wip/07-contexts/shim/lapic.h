/*
 * shim/lapic.h: a stand-in for chapter 06's kernel/lapic.h: the IPI
 * calls chapter 07 uses, for compiling wip/07-contexts only.
 */
#ifndef LAPIC_H
#define LAPIC_H

#include <stdint.h>

#define ICR_FIXED (0u << 8)

uint32_t lapic_icr(uint32_t mode, uint8_t vector);
int lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
void lapic_eoi(void);

#endif /* LAPIC_H */
