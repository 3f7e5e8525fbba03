/* pat.h: the page attribute table, which picks each page's caching. */
#ifndef PAT_H
#define PAT_H

#include <stdint.h>

#define MSR_IA32_PAT 0x277
/* The value pat_init writes; see pat.c for each entry. */
#define PAT_VALUE 0x0007050100070406ull

void pat_init(void);

#endif
