/*
 * kslots.h: which slots of the kernel-stack area are in use. A slot is
 * 64 KiB of virtual space for one stack and the guard page below it
 * (kstack.h); this is the bookkeeping that hands slots out and takes
 * them back. kslots.c explains it; tests/host/test_kslots.c tests it.
 *
 * Pure logic: no locks, no memory but the struct. The caller
 * serialises (kstack.c holds its lock around every call).
 */
#ifndef KSLOTS_H
#define KSLOTS_H

#include <stdbool.h>
#include <stdint.h>

#define KSLOTS 65536u                        /* slots: 4 GiB of space */
#define KSLOT_WORDS (KSLOTS / 64)            /* 1024 words of bits */
#define KSLOT_SUMMARY_WORDS (KSLOT_WORDS / 64)  /* 16 summary words */

/*
 * Invariants: bit i of used[] is set iff slot i is handed out; bit w of
 * full[] is set iff used[w] has all 64 bits set; count is the number of
 * bits set in used[]; high is the largest count ever reached.
 * All zero is the empty state, so a static struct needs no set-up.
 */
struct kslots {
	uint64_t used[KSLOT_WORDS];
	uint64_t full[KSLOT_SUMMARY_WORDS];
	uint32_t count;        /* slots handed out now */
	uint32_t high;         /* most slots ever handed out at once */
};

/* The lowest free slot, now handed out; -1 if every slot is in use. */
int32_t kslots_alloc(struct kslots *s);

/* Give slot back. 0, or -1 (and nothing changes) if slot is out of
 * range or not handed out: a double free, or a slot never allocated. */
int kslots_free(struct kslots *s, uint32_t slot);

/* Is slot handed out? false for a slot out of range. */
bool kslots_in_use(const struct kslots *s, uint32_t slot);

#endif /* KSLOTS_H */
