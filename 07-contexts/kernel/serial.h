/* serial.h: the COM1 serial port, the kernel's main output. */
#ifndef SERIAL_H
#define SERIAL_H

#include <stdbool.h>

bool serial_init(void);
void serial_putc(char c);

#endif
