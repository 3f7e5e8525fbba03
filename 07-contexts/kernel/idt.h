/* idt.h: the interrupt descriptor table. */
#ifndef IDT_H
#define IDT_H

void idt_init(void);
void idt_use_ist(void);
void idt_load(void);

#endif
