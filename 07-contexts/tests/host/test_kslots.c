/*
 * test_kslots.c: host unit tests for kernel/kslots.c, the allocator of
 * kernel-stack slots.
 *
 * The file under test is included whole, so this is one program built
 * by one command (`make hosttest` runs it):
 *
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
 *       -I kernel -o build/host/test_kslots tests/host/test_kslots.c
 *
 * Besides the corner cases, a million random allocations and frees are
 * checked against a model: a byte per slot, and a Fenwick tree that
 * counts the slots in use below any slot in O(log n), so "the slot
 * returned is the lowest free one" is checked on every allocation
 * without a scan.
 */
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "../../kernel/kslots.c"

static struct kslots s;

static void reset(void)
{
	s = (struct kslots){ 0 };
}

/* The invariants of kslots.h, checked word by word. */
static bool invariants_hold(void)
{
	uint32_t count = 0;

	for (uint32_t w = 0; w < KSLOT_WORDS; w++) {
		bool full = (s.full[w / 64] >> (w % 64)) & 1;

		count += (uint32_t)__builtin_popcountll(s.used[w]);
		if (full != (s.used[w] == ~0ull)) {
			CHECKF(0, "summary bit %u is %d, word is %#lx", w,
			       full, s.used[w]);
			return false;
		}
	}
	CHECKF(count == s.count, "count %u, bits set %u", s.count, count);
	CHECKF(s.high >= s.count, "high %u below count %u", s.high,
	       s.count);
	return count == s.count;
}

static void fresh_slots_in_order(void)
{
	reset();
	for (int32_t i = 0; i < 200; i++) {
		int32_t got = kslots_alloc(&s);

		CHECKF(got == i, "allocation %d gave slot %d", i, got);
		CHECK(kslots_in_use(&s, (uint32_t)i));
	}
	CHECK(!kslots_in_use(&s, 200));
	CHECK(s.count == 200 && s.high == 200);
	CHECK(invariants_hold());
}

static void freed_slot_comes_back_lowest_first(void)
{
	reset();
	for (int i = 0; i < 300; i++)
		kslots_alloc(&s);
	CHECK(kslots_free(&s, 250) == 0);
	CHECK(kslots_free(&s, 7) == 0);
	CHECK(kslots_free(&s, 64) == 0);
	CHECK(!kslots_in_use(&s, 7));
	CHECK(kslots_alloc(&s) == 7);
	CHECK(kslots_alloc(&s) == 64);
	CHECK(kslots_alloc(&s) == 250);
	CHECK(kslots_alloc(&s) == 300);
	CHECK(s.count == 301 && s.high == 301);
	CHECK(invariants_hold());
}

static void bad_frees_change_nothing(void)
{
	struct kslots before;

	reset();
	for (int i = 0; i < 70; i++)
		kslots_alloc(&s);
	CHECK(kslots_free(&s, 3) == 0);
	before = s;
	CHECK(kslots_free(&s, 3) == -1);            /* double free */
	CHECK(kslots_free(&s, 70) == -1);           /* never handed out */
	CHECK(kslots_free(&s, KSLOTS) == -1);       /* out of range */
	CHECK(kslots_free(&s, UINT32_MAX) == -1);
	CHECK(!kslots_in_use(&s, KSLOTS));
	CHECK(__builtin_memcmp(&before, &s, sizeof s) == 0);
	CHECK(invariants_hold());
}

static void every_slot_then_none(void)
{
	reset();
	for (uint32_t i = 0; i < KSLOTS; i++)
		if (kslots_alloc(&s) != (int32_t)i) {
			CHECKF(0, "allocation %u went wrong", i);
			return;
		}
	CHECK(s.count == KSLOTS);
	CHECK(kslots_alloc(&s) == -1);
	CHECK(kslots_alloc(&s) == -1);
	for (uint32_t w = 0; w < KSLOT_SUMMARY_WORDS; w++)
		CHECK(s.full[w] == ~0ull);
	CHECK(kslots_free(&s, KSLOTS - 1) == 0);     /* the last one */
	CHECK(kslots_alloc(&s) == (int32_t)(KSLOTS - 1));
	CHECK(kslots_free(&s, 4097) == 0);
	CHECK(kslots_alloc(&s) == 4097);
	CHECK(kslots_alloc(&s) == -1);
	CHECK(invariants_hold());
}

/* ---- The model: a byte per slot and a Fenwick tree over them ---- */

static uint8_t model[KSLOTS];
static uint32_t fenwick[KSLOTS + 1];
static uint32_t in_use[KSLOTS];        /* the slots in use, any order */
static uint32_t n_in_use;
static uint32_t where[KSLOTS];         /* index of a slot in in_use[] */

static void fenwick_add(uint32_t slot, int delta)
{
	for (uint32_t i = slot + 1; i <= KSLOTS; i += i & -i)
		fenwick[i] += (uint32_t)delta;
}

/* Slots in use among 0 .. slot - 1. */
static uint32_t fenwick_below(uint32_t slot)
{
	uint32_t sum = 0;

	for (uint32_t i = slot; i > 0; i -= i & -i)
		sum += fenwick[i];
	return sum;
}

static void model_take(uint32_t slot)
{
	model[slot] = 1;
	fenwick_add(slot, 1);
	where[slot] = n_in_use;
	in_use[n_in_use++] = slot;
}

static void model_give(uint32_t slot)
{
	uint32_t last = in_use[--n_in_use];

	model[slot] = 0;
	fenwick_add(slot, -1);
	in_use[where[slot]] = last;
	where[last] = where[slot];
}

/**
 * ## A million operations against the model
 *
 * The run goes through phases of 150,000 operations that lean towards
 * allocating (72 % allocations, 18 % frees) or towards freeing (the
 * other way round), so the number in use wanders from empty to full
 * (65,536, where allocation must fail) and back. One operation in ten
 * is a bad free: a slot not in use, which must be refused. Every
 * allocation must return exactly the lowest free slot of the model;
 * every 10,000 operations the invariants are checked.
 */
static void random_against_model(void)
{
	uint32_t high = 0, fulls = 0, bad = 0;

	reset();
	check_seed(0x6b736c6f7473ull);
	for (int op = 0; op < 1000000 && !check_case_failed; op++) {
		bool grow = (op / 150000) % 2 == 0;
		uint64_t r = below(100);

		if (r < 10) {
			uint32_t slot = (uint32_t)below(KSLOTS + 16);

			if (slot < KSLOTS && model[slot])
				continue;
			bad++;
			CHECKF(kslots_free(&s, slot) == -1,
			       "free of unused slot %u accepted", slot);
		} else if (r < (grow ? 82u : 28u)) {
			int32_t got = kslots_alloc(&s);

			if (n_in_use == KSLOTS) {
				fulls++;
				CHECKF(got == -1, "full, yet got %d", got);
				continue;
			}
			CHECKF(got >= 0 && !model[got] &&
			       fenwick_below((uint32_t)got) == (uint32_t)got,
			       "op %d: slot %d is not the lowest free", op,
			       got);
			if (got >= 0 && !model[got])
				model_take((uint32_t)got);
		} else if (n_in_use > 0) {
			uint32_t slot = in_use[below(n_in_use)];

			CHECKF(kslots_free(&s, slot) == 0,
			       "op %d: free of slot %u refused", op, slot);
			model_give(slot);
		}
		if (n_in_use > high)
			high = n_in_use;
		CHECKF(s.count == n_in_use, "op %d: count %u, model %u", op,
		       s.count, n_in_use);
		if (op % 10000 == 0 && !invariants_hold())
			break;
	}
	CHECK(invariants_hold());
	CHECKF(s.high == high, "high %u, model %u", s.high, high);
	CHECKF(fulls > 0 && bad > 0, "full %u times, %u bad frees", fulls,
	       bad);
	printf("  (1000000 operations: reached full %u times, %u bad "
	       "frees refused, high %u)\n", fulls, bad, high);
}

int main(void)
{
	RUN(fresh_slots_in_order);
	RUN(freed_slot_comes_back_lowest_first);
	RUN(bad_frees_change_nothing);
	RUN(every_slot_then_none);
	RUN(random_against_model);
	return check_done("test_kslots");
}
