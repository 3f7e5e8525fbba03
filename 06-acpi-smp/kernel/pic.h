/* pic.h: the legacy 8259 interrupt controllers, remapped and masked. */
#ifndef PIC_H
#define PIC_H

#include <stdbool.h>

#define PIC_VECTOR_BASE 0x20          /* IRQ 0-15 -> vectors 0x20-0x2F */

void pic_init(void);
bool pic_irq_is_spurious(int irq);

#endif
