/*
 * shim/trap.h: a stand-in for chapter 06's kernel/trap.h (05's lacks
 * handlers): the calls sched_setup.c uses, for compiling wip/08-switch
 * only.
 */
#ifndef TRAP_H
#define TRAP_H

#include <stdint.h>

struct trap_frame;

typedef void (*trap_handler)(struct trap_frame *f);
trap_handler trap_set_handler(int vector, trap_handler h);

#endif /* TRAP_H */
