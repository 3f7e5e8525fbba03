/*
 * shim/lapic.h: a stand-in for chapter 06's kernel/lapic.h: the
 * vectors and calls sched_setup.c uses, as chapter 06 spells them, for
 * compiling wip/08-switch only.
 */
#ifndef LAPIC_H
#define LAPIC_H

#include <stdint.h>

#define VEC_LAPIC_TIMER  0xF0

void lapic_eoi(void);
int lapic_send_fixed(uint32_t apic_id, uint8_t vector);
void lapic_timer_periodic(uint32_t count);

#endif /* LAPIC_H */
