/*
 * kslots.c: hands out the slots of the kernel-stack area, lowest free
 * slot first, and takes them back, so that the stacks of threads that
 * have exited are reused.
 *
 * Pure logic, tested on the host (tests/host/test_kslots.c).
 */
#include "kslots.h"

/**
 * ## Slots that come back
 *
 * Every kernel stack lives in a *slot*: 64 KiB of virtual space in the
 * kernel-stack area, whose lowest page is never mapped (the guard
 * page) and whose top pages hold the stack (kstack.c). Slot number `i`
 * starts at `KSTACK_AREA + i * 64 KiB`. Until now the slots were
 * handed out in order and never returned: the boot CPU's stack and the
 * interrupt stacks live as long as the machine. Threads do not. A
 * kernel that creates and ends ten thousand threads must not use ten
 * thousand slots, so a slot must come back when its thread is gone,
 * and be handed out again.
 *
 * The bookkeeping is a bitmap, one bit per slot, set while the slot is
 * in use. Finding a free slot in 65,536 bits one word at a time would
 * read up to 1,024 words; a second, small bitmap avoids that. Bit `w`
 * of `full[]` is set when word `w` of `used[]` has no free slot left.
 * Allocation then reads at most the 16 words of `full[]` and one word
 * of `used[]`, and *count trailing zeros* (`__builtin_ctzll`, one BSF
 * or TZCNT instruction) finds the first clear bit in each:
 *
 *     full[]:  1 1 0 ...          word 2 of used[] has a free slot
 *     used[2]: ...1 1 1 0 1 1     bit 2 is clear: slot 2 * 64 + 2
 *
 * Why these choices:
 *
 * - **No heap, no list.** The boot CPU needs a guarded stack before
 *   there is a heap (chapter 05), so the bitmap is a static array, 8
 *   KiB for 65,536 slots. A free list threaded through the free slots
 *   themselves, as a heap would keep it, is impossible: a free slot is
 *   unmapped, so there is nowhere to write the link.
 * - **Lowest slot first.** Stacks stay packed at the bottom of the
 *   area, so the few page tables that map them (one per 32 slots) are
 *   reused rather than new ones made for every new thread: after a
 *   warm-up, creating and ending a thread costs no page-table frames.
 * - **Bounded work.** At most 17 words are read, whatever has been
 *   allocated and freed before, so creating a thread costs the same
 *   after a million threads as after one.
 * - **4 GiB of the 512 GiB area.** 65,536 stacks are far more than
 *   this kernel's memory can back (each needs frames); a larger
 *   `KSLOTS` costs 8 KiB of bitmap per 65,536 more.
 *
 * A slot goes back only when its stack is unmapped and every CPU has
 * forgotten the old translations (kstack_free() in kstack.c); the
 * bitmap itself knows nothing of pages.
 */
#define ALL_ONES (~0ull)

static void set_bit(uint64_t *words, uint32_t i)
{
	words[i / 64] |= 1ull << (i % 64);
}

static void clear_bit(uint64_t *words, uint32_t i)
{
	words[i / 64] &= ~(1ull << (i % 64));
}

bool kslots_in_use(const struct kslots *s, uint32_t slot)
{
	return slot < KSLOTS && (s->used[slot / 64] >> (slot % 64)) & 1;
}

int32_t kslots_alloc(struct kslots *s)
{
	for (uint32_t w = 0; w < KSLOT_SUMMARY_WORDS; w++) {
		uint32_t word, slot;

		if (s->full[w] == ALL_ONES)
			continue;
		word = w * 64 + (uint32_t)__builtin_ctzll(~s->full[w]);
		slot = word * 64 + (uint32_t)__builtin_ctzll(~s->used[word]);
		set_bit(s->used, slot);
		if (s->used[word] == ALL_ONES)
			set_bit(s->full, word);
		if (++s->count > s->high)
			s->high = s->count;
		return (int32_t)slot;
	}
	return -1;
}

int kslots_free(struct kslots *s, uint32_t slot)
{
	if (!kslots_in_use(s, slot))
		return -1;
	clear_bit(s->used, slot);
	clear_bit(s->full, slot / 64);     /* the word has a free bit now */
	s->count--;
	return 0;
}
