/* pic.h: the legacy 8259 interrupt controllers, remapped and masked. */
#ifndef PIC_H
#define PIC_H

#include <stdbool.h>
#include <stdint.h>

#define PIC_VECTOR_BASE 0x20          /* IRQ 0-15 -> vectors 0x20-0x2F */

void pic_init(void);
bool pic_irq_is_spurious(int irq);

/* The chips' registers, both at once: bit n is IRQ n (the slave's are
 * bits 8-15). For the self-tests, which play with real interrupts. */
uint16_t pic_in_service(void);           /* ISR: being handled */
uint16_t pic_requested(void);            /* IRR: raised, not taken */
void pic_set_masks(uint16_t masked);     /* IMR: 1 = masked */
int pic_poll(bool slave);
void pic_eoi(int irq);

#endif
