/*
 * lapic.h: the local APIC, each CPU's own interrupt controller: its
 * registers, interrupts between CPUs (IPIs), its timer. lapic.c
 * explains it.
 */
#ifndef LAPIC_H
#define LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define MSR_IA32_APIC_BASE 0x1B
#define APIC_BASE_BSP      (1ull << 8)    /* this is the boot CPU */
#define APIC_BASE_EXTD     (1ull << 10)   /* x2APIC mode */
#define APIC_BASE_ENABLE   (1ull << 11)   /* APIC global enable */
#define APIC_BASE_ADDR     0x000FFFFFFFFFF000ull  /* bits 12-51 */

/* Register offsets (Intel SDM vol. 3, "Local APIC Register Address
 * Map"); each register is 32 bits on a 16-byte boundary. */
#define LAPIC_ID          0x020
#define LAPIC_VERSION     0x030
#define LAPIC_TPR         0x080   /* task priority */
#define LAPIC_EOI         0x0B0   /* end of interrupt */
#define LAPIC_SVR         0x0F0   /* spurious-interrupt vector */
#define LAPIC_ISR         0x100   /* in-service, 8 registers */
#define LAPIC_ESR         0x280   /* error status */
#define LAPIC_ICR_LOW     0x300   /* interrupt command */
#define LAPIC_ICR_HIGH    0x310
#define LAPIC_LVT_TIMER   0x320   /* local vector table entries */
#define LAPIC_LVT_LINT0   0x350
#define LAPIC_LVT_LINT1   0x360
#define LAPIC_LVT_ERROR   0x370
#define LAPIC_TIMER_INIT  0x380   /* initial count */
#define LAPIC_TIMER_COUNT 0x390   /* current count */
#define LAPIC_TIMER_DIV   0x3E0   /* divide configuration */

#define SVR_ENABLE        (1u << 8)    /* APIC software enable */
#define LVT_MASKED        (1u << 16)
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_NMI           (4u << 8)    /* delivery mode NMI */
#define TIMER_DIV_16      0x3          /* DCR value: divide by 16 */
#define LAPIC_TIMER_DIVISOR 16

/* The interrupt command register's low half (SDM vol. 3, "Interrupt
 * Command Register"): vector, delivery mode, and the bits below. */
#define ICR_FIXED        (0u << 8)
#define ICR_NMI          (4u << 8)
#define ICR_INIT         (5u << 8)
#define ICR_STARTUP      (6u << 8)    /* SIPI */
#define ICR_PENDING      (1u << 12)   /* delivery status: send pending */
#define ICR_ASSERT       (1u << 14)   /* level: assert */
#define ICR_LEVEL        (1u << 15)   /* trigger mode: level */
#define ICR_SELF         (1u << 18)   /* destination shorthand: self */
#define ICR_ALL_BUT_SELF (3u << 18)   /* shorthand: all but self */

/* Interrupt vectors of the local APIC (the IDT's top 16). A vector's
 * upper 4 bits are its priority class: these outrank every device. */
#define VEC_LAPIC_ERROR  0xEF   /* class 14: its handler prints */
#define VEC_LAPIC_TIMER  0xF0   /* class 15: handlers that take no */
#define VEC_CTX_WAKE     0xF8   /*  lock. A context for it (07) */
#define VEC_WAKE         0xFB   /* wake a halted CPU (smp.c) */
#define VEC_IPI_TEST     0xFC   /* the self-tests' IPIs */
#define VEC_TLB_SHOOTDOWN 0xFD  /* flush a page (tlb.c) */
#define VEC_SPURIOUS     0xFF   /* spurious interrupts (not 0: #DE) */

/* Task priority while a CPU waits to be woken (lapic_wait_kick()):
 * classes 0-14 held back, only class 15 let in. */
#define TPR_CLASS_15_ONLY 0xE0

/* The boot CPU, once: find the local APIC (IA32_APIC_BASE) and map its
 * registers. Interrupts off. */
void lapic_setup(void);
bool lapic_ready(void);         /* lapic_setup() has mapped it */
uint64_t lapic_base(void);      /* its physical address */

/* Every CPU, for itself: enable its local APIC, with the vectors above
 * and the NMI line the MADT names; the PIC's line masked. */
void lapic_cpu_init(void);

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t value);
uint32_t lapic_id(void);        /* this CPU's APIC id: ID bits 24-31 */
void lapic_eoi(void);           /* end of interrupt, for a handler */

/* The ICR's low half for an IPI: delivery mode | vector (vector
 * only for ICR_FIXED and ICR_STARTUP), with the level bits the SDM's
 * table gives each mode. */
uint32_t lapic_icr(uint32_t mode, uint8_t vector);

/* Send an IPI to the CPU with this APIC id and wait until its local
 * APIC has taken it. 0, or -1 if it was still pending after 100 ms. */
int lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
int lapic_send_fixed(uint32_t apic_id, uint8_t vector);
int lapic_send_others(uint8_t vector);   /* fixed, to every other CPU */
int lapic_send_nmi(uint32_t apic_id);
int lapic_send_init(uint32_t apic_id);
int lapic_send_sipi(uint32_t apic_id, uint8_t page);  /* start at page *
                                                         4 KiB */

/* Interrupts off: halt until an interrupt of class 15 (a wake-up, a
 * TLB flush request) or 100 ms, whichever comes first; interrupts off
 * again on return (lapic.c, "Halting until woken"). */
void lapic_wait_kick(void);

/* The timer, counting down at the calibrated rate (clock.c) divided by
 * LAPIC_TIMER_DIVISOR: once, or periodically, on VEC_LAPIC_TIMER. */
void lapic_timer_oneshot(uint32_t count);
void lapic_timer_periodic(uint32_t count);
void lapic_timer_stop(void);
uint32_t lapic_timer_count(void);

#endif /* LAPIC_H */
