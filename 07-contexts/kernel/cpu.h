/* cpu.h: the CPU features this kernel needs, switched on per CPU. */
#ifndef CPU_H
#define CPU_H

#include <stdbool.h>

#define MSR_IA32_MISC_ENABLE 0x1A0
#define MISC_ENABLE_XD_DISABLE (1ull << 34)  /* Intel: hides NX */

void cpu_init_features(void);
bool cpu_is_intel(void);

#endif
