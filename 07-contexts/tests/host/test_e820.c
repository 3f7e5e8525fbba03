/*
 * test_e820.c: host unit tests for kernel/e820.c.
 *
 * The file under test is included whole (a "unity build"), so this is
 * one program built by one command, run from 01-boot-e820:
 *
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
 *       -I kernel -o build/host/test_e820 tests/host/test_e820.c
 *   build/host/test_e820
 *
 * Output buffers come from malloc with exactly the size passed to the
 * sanitiser, so AddressSanitizer stops the case if it writes even one
 * range too many.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../../kernel/e820.c"
#include "../../kernel/format.c"   /* ksnprintf, for e820_check */

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* A raw entry as a well-behaved BIOS would give it: valid bit set. */
#define E(base, len, type) { (base), (len), (type), E820_ATTR_VALID }
#define R(base, end, type) { (base), (end), (type) }

#define U   E820_USABLE
#define RES E820_RESERVED
#define K   E820_KERNEL
#define B   E820_BOOT

/* An output array of exactly n ranges, so ASan guards its end. */
static struct mem_range *new_out(int n)
{
	struct mem_range *m = malloc((size_t)(n > 0 ? n : 1) * sizeof *m);

	if (m == NULL) {
		perror("malloc");
		exit(2);
	}
	return m;
}

/* Does got[0..n-1] equal want[0..nw-1]? Fails the case if not. */
static void expect_ranges(const struct mem_range *got, int n,
			  const struct mem_range *want, int nw)
{
	char why[100];

	CHECKF(n == nw, "got %d ranges, want %d", n, nw);
	for (int i = 0; i < n && i < nw; i++)
		CHECKF(got[i].base == want[i].base &&
		       got[i].end == want[i].end &&
		       got[i].type == want[i].type,
		       "range %d: got %#lx-%#lx %s, want %#lx-%#lx %s", i,
		       got[i].base, got[i].end, e820_type_name(got[i].type),
		       want[i].base, want[i].end,
		       e820_type_name(want[i].type));
	if (n >= 0)
		CHECKF(e820_check(got, n, why, sizeof why) == 0,
		       "e820_check: %s", why);
}

/* Sanitise in/carve and compare the result with want. */
static void expect_map(const struct e820_entry *in, int n_in,
		       const struct mem_range *carve, int n_carve,
		       const struct mem_range *want, int nw)
{
	struct mem_range *out = new_out(E820_MAX_OUT);
	int n = e820_sanitise(in, n_in, carve, n_carve, out, E820_MAX_OUT);

	CHECKF(n >= 0, "error %d (%s)", n, e820_strerror(n));
	expect_ranges(out, n, want, nw);
	free(out);
}

/* Sanitise and expect the error err. */
static void expect_error(const struct e820_entry *in, int n_in,
			 const struct mem_range *carve, int n_carve,
			 int max_out, int err)
{
	struct mem_range *out = new_out(max_out);
	int n = e820_sanitise(in, n_in, carve, n_carve, out, max_out);

	CHECKF(n == err, "got %d, want %d (%s)", n, err,
	       e820_strerror(err));
	free(out);
}

/* ---- Real tables ------------------------------------------------ */

/* QEMU 7.2 + SeaBIOS, q35, -m 2G, TCG (qemu-facts.md): the three low
 * entries every configuration shares, then the q35 ones. */
static const struct e820_entry q35_2g[] = {
	E(0x0, 0x9FC00, U),
	E(0x9FC00, 0x400, RES),
	E(0xF0000, 0x10000, RES),
	E(0x100000, 0x7FEDF000, U),
	E(0x7FFDF000, 0x21000, RES),
	E(0xB0000000, 0x10000000, RES),
	E(0xFED1C000, 0x4000, RES),
	E(0xFFFC0000, 0x40000, RES),
	E(0xFD00000000, 0x300000000, RES),  /* HyperTransport hole */
};

static const struct mem_range q35_carve[] = {
	R(0x100000, 0x180000, K),  /* kernel image */
	R(0x1000, 0x10000, B),     /* boot structures */
};

static const struct mem_range q35_want[] = {
	R(0x0, 0x1000, U),
	R(0x1000, 0x10000, B),
	R(0x10000, 0x9F000, U),  /* 0x9FC00 rounded down */
	R(0x9FC00, 0xA0000, RES),
	R(0xF0000, 0x100000, RES),
	R(0x100000, 0x180000, K),
	R(0x180000, 0x7FFDF000, U),
	R(0x7FFDF000, 0x80000000, RES),
	R(0xB0000000, 0xC0000000, RES),
	R(0xFED1C000, 0xFED20000, RES),
	R(0xFFFC0000, 0x100000000, RES),
	R(0xFD00000000, 0x10000000000, RES),
};

static void q35_2g_tcg(void)
{
	struct mem_range *out = new_out(E820_MAX_OUT);
	int n = e820_sanitise(q35_2g, N(q35_2g), q35_carve, N(q35_carve),
			      out, E820_MAX_OUT);
	uint64_t want = 0x1000 + (0x9F000 - 0x10000) +
			(0x7FFDF000 - 0x180000);

	expect_ranges(out, n, q35_want, N(q35_want));
	CHECKF(e820_usable_bytes(out, n) == want, "usable %#lx, want %#lx",
	       e820_usable_bytes(out, n), want);
	free(out);
}

/* The table Redox 0.3.5 printed (QEMU under KVM), as Redox saw it:
 * every acpi word 0, because its bootloader zeroed the buffer and
 * SeaBIOS never writes that word. */
static void seed_table(struct e820_entry *t, uint32_t acpi)
{
	static const struct e820_entry seed[] = {
		E(0, 654336, U),
		E(654336, 1024, RES),
		E(983040, 65536, RES),
		E(1048576, 2146299904, U),
		E(2147348480, 135168, RES),
		E(2952790016, 268435456, RES),
		E(4275159040, 16384, RES),
		E(4278173696, 16384, RES),
		E(4294705152, 262144, RES),
	};

	for (int i = 0; i < N(seed); i++) {
		t[i] = seed[i];
		t[i].acpi = acpi;
	}
}

static void seed_notes_acpi0_all_dropped(void)
{
	struct e820_entry t[9];

	seed_table(t, 0);
	expect_map(t, N(t), NULL, 0, NULL, 0);
}

static void seed_notes_acpi1(void)
{
	static const struct mem_range want[] = {
		R(0x0, 0x9F000, U),
		R(0x9FC00, 0xA0000, RES),
		R(0xF0000, 0x100000, RES),
		R(0x100000, 0x7FFDF000, U),
		R(0x7FFDF000, 0x80000000, RES),
		R(0xB0000000, 0xC0000000, RES),
		R(0xFED1C000, 0xFED20000, RES),
		R(0xFEFFC000, 0xFF000000, RES),
		R(0xFFFC0000, 0x100000000, RES),
	};
	struct e820_entry t[9];

	seed_table(t, 1);
	expect_map(t, N(t), NULL, 0, want, N(want));
}

static void unsorted_input(void)
{
	struct e820_entry t[N(q35_2g)];

	/* Reverse, then swap a few: no order at all. */
	for (int i = 0; i < N(q35_2g); i++)
		t[i] = q35_2g[N(q35_2g) - 1 - i];
	t[0] = q35_2g[3];
	t[5] = q35_2g[8];
	expect_map(t, N(t), q35_carve, N(q35_carve), q35_want,
		   N(q35_want));
}

/* ---- Overlaps --------------------------------------------------- */

static void overlap_contained(void)
{
	static const struct e820_entry in[] = {
		E(0x0, 0x10000, U), E(0x4000, 0x1000, RES),
	};
	static const struct mem_range want[] = {
		R(0x0, 0x4000, U), R(0x4000, 0x5000, RES),
		R(0x5000, 0x10000, U),
	};

	expect_map(in, N(in), NULL, 0, want, N(want));
}

static void overlap_partial_left(void)
{
	static const struct e820_entry in[] = {
		E(0x2000, 0x6000, U), E(0x0, 0x3000, RES),
	};
	static const struct mem_range want[] = {
		R(0x0, 0x3000, RES), R(0x3000, 0x8000, U),
	};

	expect_map(in, N(in), NULL, 0, want, N(want));
}

static void overlap_partial_right(void)
{
	static const struct e820_entry in[] = {
		E(0x0, 0x8000, U), E(0x6000, 0x3000, RES),
	};
	static const struct mem_range want[] = {
		R(0x0, 0x6000, U), R(0x6000, 0x9000, RES),
	};

	expect_map(in, N(in), NULL, 0, want, N(want));
}

static void overlap_identical(void)
{
	static const struct e820_entry in[] = {
		E(0x1000, 0x4000, U), E(0x1000, 0x4000, E820_ACPI),
		E(0x8000, 0x1000, RES), E(0x8000, 0x1000, E820_NVS),
		E(0x9000, 0x1000, U), E(0x9000, 0x1000, U),
	};
	static const struct mem_range want[] = {
		R(0x1000, 0x5000, E820_ACPI), R(0x8000, 0x9000, RES),
		R(0x9000, 0xA000, U),
	};

	expect_map(in, N(in), NULL, 0, want, N(want));
}

/* Which entry comes first must not matter. */
static void overlap_order_independent(void)
{
	static const struct e820_entry usable_first[] = {
		E(0x0, 0x8000, U), E(0x2000, 0x1000, RES),
	};
	static const struct e820_entry reserved_first[] = {
		E(0x2000, 0x1000, RES), E(0x0, 0x8000, U),
	};
	static const struct mem_range want[] = {
		R(0x0, 0x2000, U), R(0x2000, 0x3000, RES),
		R(0x3000, 0x8000, U),
	};

	expect_map(usable_first, 2, NULL, 0, want, N(want));
	expect_map(reserved_first, 2, NULL, 0, want, N(want));
}

static void overlap_three_way(void)
{
	static const struct e820_entry in[] = {
		E(0x6000, 0x4000, E820_NVS), E(0x0, 0x10000, U),
		E(0x2000, 0x6000, E820_ACPI),
	};
	static const struct mem_range want[] = {
		R(0x0, 0x2000, U), R(0x2000, 0x6000, E820_ACPI),
		R(0x6000, 0xA000, E820_NVS), R(0xA000, 0x10000, U),
	};

	expect_map(in, N(in), NULL, 0, want, N(want));
}

/* Every pair of types on the same page: the higher rank must win. */
static void overlap_rank_order(void)
{
	static const uint32_t order[] = {
		U, B, K, E820_ACPI, E820_NVS, RES, E820_UNUSABLE,
	};

	for (int lo = 0; lo < N(order); lo++) {
		for (int hi = lo + 1; hi < N(order); hi++) {
			struct e820_entry in[2];
			struct mem_range carve[2];
			struct mem_range want = R(0x5000, 0x6000, order[hi]);
			int n_in = 0, n_carve = 0;
			uint32_t pair[2] = { order[hi], order[lo] };

			for (int k = 0; k < 2; k++) {
				if (pair[k] == K || pair[k] == B) {
					carve[n_carve++] = (struct mem_range)
						R(0x5000, 0x6000, pair[k]);
				} else {
					in[n_in++] = (struct e820_entry)
						E(0x5000, 0x1000, pair[k]);
				}
			}
			expect_map(in, n_in, carve, n_carve, &want, 1);
		}
	}
}

/* ---- Odd entries ------------------------------------------------ */

static void zero_length_dropped(void)
{
	static const struct e820_entry in[] = {
		E(0x0, 0x4000, U), E(0x2000, 0, RES), E(0x9000, 0, U),
		E(0x0, 0, E820_UNUSABLE),
	};
	static const struct mem_range want[] = { R(0x0, 0x4000, U) };

	expect_map(in, N(in), NULL, 0, want, N(want));
	expect_map(&in[1], 3, NULL, 0, NULL, 0);
}

static void wrap_past_2_64(void)
{
	static const struct e820_entry res_wrap[] = {
		E(0xFFFFFFFFFFFF0000, 0x20000, RES),
	};
	static const struct mem_range res_want[] = {
		R(0xFFFFFFFFFFFF0000, UINT64_MAX, RES),
	};
	static const struct e820_entry usable_wrap[] = {
		E(0xFFFFFFFFFFFF0000, 0x100000, U),
	};
	static const struct mem_range usable_want[] = {
		R(0xFFFFFFFFFFFF0000, 0xFFFFFFFFFFFFF000, U),
	};
	/* base + length is exactly 2^64: only the last byte; it is lost. */
	static const struct e820_entry last_byte[] = {
		E(UINT64_MAX, 1, RES),
	};
	static const struct e820_entry everything[] = {
		E(0x0, UINT64_MAX, RES), E(0x1000, UINT64_MAX, U),
	};
	static const struct mem_range everything_want[] = {
		R(0x0, UINT64_MAX, RES),
	};

	expect_map(res_wrap, 1, NULL, 0, res_want, 1);
	expect_map(usable_wrap, 1, NULL, 0, usable_want, 1);
	expect_map(last_byte, 1, NULL, 0, NULL, 0);
	expect_map(everything, 2, NULL, 0, everything_want, 1);
}

/* A carve range in the last page: widened, but only up to 2^64 - 1. */
static void carve_at_top(void)
{
	static const struct mem_range carve[] = {
		R(0xFFFFFFFFFFFFF800, 0xFFFFFFFFFFFFFF00, K),
	};
	static const struct mem_range want[] = {
		R(0xFFFFFFFFFFFFF000, UINT64_MAX, K),
	};

	expect_map(NULL, 0, carve, 1, want, 1);
}

/* q35 with -m 6G: RAM above 4 GiB, and the 1 TiB HyperTransport hole
 * that must not count as memory. */
static void above_4gib(void)
{
	static const struct e820_entry in[] = {
		E(0x0, 0x9FC00, U), E(0x9FC00, 0x400, RES),
		E(0xF0000, 0x10000, RES), E(0x100000, 0x7FEDF000, U),
		E(0x100000000, 0x100000000, U),
		E(0xFD00000000, 0x300000000, RES),
	};
	static const struct mem_range want[] = {
		R(0x0, 0x9F000, U), R(0x9FC00, 0xA0000, RES),
		R(0xF0000, 0x100000, RES), R(0x100000, 0x7FFDF000, U),
		R(0x100000000, 0x200000000, U),
		R(0xFD00000000, 0x10000000000, RES),
	};
	struct mem_range *out = new_out(E820_MAX_OUT);
	int n = e820_sanitise(in, N(in), NULL, 0, out, E820_MAX_OUT);
	uint64_t usable = 0x9F000 + 0x7FEDF000 + 0x100000000;

	expect_ranges(out, n, want, N(want));
	CHECKF(e820_usable_bytes(out, n) == usable, "usable %#lx",
	       e820_usable_bytes(out, n));
	free(out);
}

static void acpi_nvs_unusable_kept(void)
{
	static const struct e820_entry in[] = {
		E(0x0, 0x1000, E820_ACPI), E(0x1000, 0x1000, E820_NVS),
		E(0x2000, 0x1000, E820_UNUSABLE),
	};
	static const struct mem_range want[] = {
		R(0x0, 0x1000, E820_ACPI), R(0x1000, 0x2000, E820_NVS),
		R(0x2000, 0x3000, E820_UNUSABLE),
	};

	expect_map(in, N(in), NULL, 0, want, N(want));
}

/* 0, 6, 7, 12, 0xFFFFFFFF, and our own 0x100/0x101 when the BIOS
 * sends them: all reserved, so they merge into one range. */
static void unknown_types_reserved(void)
{
	static const struct e820_entry in[] = {
		E(0x0, 0x1000, 0), E(0x1000, 0x1000, 6),
		E(0x2000, 0x1000, 7), E(0x3000, 0x1000, 12),
		E(0x4000, 0x1000, 0xFFFFFFFF), E(0x5000, 0x1000, K),
		E(0x6000, 0x1000, B), E(0x9000, 0x1000, U),
		E(0x9800, 0x1000, 12),
	};
	static const struct mem_range want[] = {
		R(0x0, 0x7000, RES), R(0x9800, 0xA800, RES),
	};

	/* The usable entry loses to type 12 and is left with
	 * 0x9000-0x9800: no whole page, so it vanishes. */
	expect_map(in, N(in), NULL, 0, want, 2);
	expect_map(in, N(in) - 2, NULL, 0, want, 1);
	expect_map(&in[N(in) - 2], 2, NULL, 0, &want[1], 1);
}

static void attribute_valid_bit(void)
{
	struct e820_entry in[] = {
		E(0x0, 0x1000, U), E(0x1000, 0x1000, U),
		E(0x2000, 0x1000, U), E(0x3000, 0x1000, U),
		E(0x0, 0x4000, RES),
	};
	static const struct mem_range want[] = {
		R(0x2000, 0x4000, U),
	};

	in[0].acpi = 0;           /* clear: dropped */
	in[1].acpi = 2;           /* only bit 1 set: dropped */
	in[2].acpi = 3;           /* bit 0 set: kept */
	in[3].acpi = 0xFFFFFFFF;  /* kept */
	in[4].acpi = 0;           /* an invalid reserved entry hides
	                             nothing */
	expect_map(in, N(in), NULL, 0, want, N(want));
}

static void empty_map(void)
{
	static const struct mem_range kernel[] = {
		R(0x100000, 0x180000, K),
	};

	expect_map(NULL, 0, NULL, 0, NULL, 0);
	/* Only a carve: it is all the map knows about. */
	expect_map(NULL, 0, kernel, 1, kernel, 1);
}

/* ---- Limits ----------------------------------------------------- */

/* Entry k: a reserved page at 0x2000 * k, a page apart. */
static void spaced_entries(struct e820_entry *t, int n)
{
	for (int k = 0; k < n; k++)
		t[k] = (struct e820_entry)E(0x2000ull * k, 0x1000, RES);
}

static void max_entries(void)
{
	struct e820_entry *t = malloc(E820_MAX_ENTRIES * sizeof *t);
	struct mem_range *out = new_out(E820_MAX_OUT);
	int n;

	spaced_entries(t, E820_MAX_ENTRIES);
	n = e820_sanitise(t, E820_MAX_ENTRIES, NULL, 0, out, E820_MAX_OUT);
	CHECKF(n == E820_MAX_ENTRIES, "got %d", n);
	CHECK(n > 0 && out[n - 1].base == 0x2000ull * (n - 1));
	CHECK(e820_check(out, n, NULL, 0) == 0);
	free(out);
	free(t);
}

static void too_many_entries(void)
{
	struct e820_entry *t = malloc((E820_MAX_ENTRIES + 1) * sizeof *t);

	spaced_entries(t, E820_MAX_ENTRIES + 1);
	expect_error(t, E820_MAX_ENTRIES + 1, NULL, 0, E820_MAX_OUT,
		     E820_ERR_TOO_MANY);
	expect_error(t, -1, NULL, 0, E820_MAX_OUT, E820_ERR_TOO_MANY);
	free(t);
}

static void bad_carves(void)
{
	struct mem_range carve[E820_MAX_CARVE + 1];

	for (int i = 0; i < N(carve); i++)
		carve[i] = (struct mem_range)R(0x1000ull * i,
					       0x1000ull * i + 1, B);
	expect_error(NULL, 0, carve, E820_MAX_CARVE + 1, E820_MAX_OUT,
		     E820_ERR_CARVE_MANY);
	expect_error(NULL, 0, carve, -1, E820_MAX_OUT,
		     E820_ERR_CARVE_MANY);
	carve[3].type = U;
	expect_error(NULL, 0, carve, 4, E820_MAX_OUT,
		     E820_ERR_CARVE_TYPE);
}

/* The worst case: one usable range holding 135 separate non-usable
 * pages (127 entries, 8 carves) makes 2 * 136 - 1 = 271 ranges. */
static void worst_case_output(void)
{
	struct e820_entry *t = malloc(E820_MAX_ENTRIES * sizeof *t);
	struct mem_range carve[E820_MAX_CARVE];
	struct mem_range *out = new_out(E820_MAX_OUT);
	int want = 2 * (E820_MAX_ENTRIES + E820_MAX_CARVE) - 1;
	int n, k;

	t[0] = (struct e820_entry)E(0, 0x1000000, U);
	for (k = 0; k < E820_MAX_ENTRIES - 1; k++)
		t[k + 1] = (struct e820_entry)
			E(0x2000ull * k + 0x1000, 0x1000, RES);
	for (int i = 0; i < E820_MAX_CARVE; i++, k++)
		carve[i] = (struct mem_range)
			R(0x2000ull * k + 0x1000, 0x2000ull * k + 0x1001, K);
	n = e820_sanitise(t, E820_MAX_ENTRIES, carve, E820_MAX_CARVE, out,
			  E820_MAX_OUT);
	CHECKF(n == want, "got %d ranges, want %d", n, want);
	CHECK(e820_check(out, n, NULL, 0) == 0);
	free(out);
	expect_error(t, E820_MAX_ENTRIES, carve, E820_MAX_CARVE, want - 1,
		     E820_ERR_NO_ROOM);
	free(t);
}

/* q35 makes 12 ranges: 11 slots are too few, and nothing may be
 * written past them (ASan watches the end of the array). */
static void output_too_small(void)
{
	int need = N(q35_want);
	struct mem_range *out = new_out(need);
	int n = e820_sanitise(q35_2g, N(q35_2g), q35_carve, N(q35_carve),
			      out, need);

	expect_ranges(out, n, q35_want, need);
	free(out);
	expect_error(q35_2g, N(q35_2g), q35_carve, N(q35_carve), need - 1,
		     E820_ERR_NO_ROOM);
	expect_error(q35_2g, N(q35_2g), q35_carve, N(q35_carve), 1,
		     E820_ERR_NO_ROOM);
	CHECK(e820_sanitise(q35_2g, 1, NULL, 0, NULL, 0) ==
	      E820_ERR_NO_ROOM);
	CHECK(e820_sanitise(q35_2g, 1, NULL, 0, NULL, -5) ==
	      E820_ERR_NO_ROOM);
	CHECK(e820_sanitise(NULL, 0, NULL, 0, NULL, 0) == 0);
}

/* ---- Merging and shrinking ---------------------------------------- */

static void adjacent_same_type_merged(void)
{
	static const struct e820_entry in[] = {
		E(0x0, 0x1000, U), E(0x1000, 0x2000, U),
		E(0x3000, 0x1000, RES), E(0x4000, 0x1000, RES),
		E(0x5000, 0x1000, E820_ACPI), E(0x6000, 0x1000, E820_ACPI),
		E(0x7000, 0x1000, E820_NVS),
	};
	static const struct mem_range carve[] = {
		R(0x10000, 0x11000, K), R(0x11000, 0x12000, K),
		R(0x12000, 0x13000, B), R(0x13000, 0x14000, B),
	};
	static const struct mem_range want[] = {
		R(0x0, 0x3000, U), R(0x3000, 0x5000, RES),
		R(0x5000, 0x7000, E820_ACPI), R(0x7000, 0x8000, E820_NVS),
		R(0x10000, 0x12000, K), R(0x12000, 0x14000, B),
	};

	expect_map(in, N(in), carve, N(carve), want, N(want));
}

static void usable_shrunk_to_pages(void)
{
	static const struct e820_entry in[] = {
		E(0x800, 0x5000, U),       /* 0x800-0x5800 */
		E(0x10100, 0xE00, U),      /* inside one page: vanishes */
		E(0x20800, 0x1000, U),     /* these two hold one page */
		E(0x21800, 0x1000, U),     /* together, none apart */
		E(0x30000, 0x9FC00, U),    /* ends inside a page ... */
		E(0xCFC00, 0x400, RES),    /* ... shared with reserved */
	};
	static const struct mem_range want[] = {
		R(0x1000, 0x5000, U), R(0x21000, 0x22000, U),
		R(0x30000, 0xCF000, U), R(0xCFC00, 0xD0000, RES),
	};

	expect_map(in, N(in), NULL, 0, want, N(want));
}

/* ---- Carve ranges ------------------------------------------------- */

static void carve_straddles_boundaries(void)
{
	static const struct e820_entry in[] = {
		E(0x0, 0x10000, RES), E(0x10000, 0xF0000, U),
		E(0x100000, 0x100000, RES),
	};
	static const struct mem_range carve[] = {
		R(0xF800, 0x11000, B),      /* reserved | usable */
		R(0xFF800, 0x100800, K),    /* usable | reserved */
		R(0x50010, 0x50020, B),     /* widened to a page */
		R(0x60000, 0x64000, K),     /* boot inside kernel: */
		R(0x61000, 0x62000, B),     /* kernel wins */
		R(0x300000, 0x300000, K),   /* empty: ignored */
		R(0x400000, 0x401000, K),   /* in a hole: still shown */
	};
	static const struct mem_range want[] = {
		R(0x0, 0x10000, RES), R(0x10000, 0x11000, B),
		R(0x11000, 0x50000, U), R(0x50000, 0x51000, B),
		R(0x51000, 0x60000, U), R(0x60000, 0x64000, K),
		R(0x64000, 0xFF000, U), R(0xFF000, 0x100000, K),
		R(0x100000, 0x200000, RES), R(0x400000, 0x401000, K),
	};

	expect_map(in, N(in), carve, N(carve), want, N(want));
}

/* ---- The checker and the names ------------------------------------ */

static void check_reports(const struct mem_range *m, int n,
			  const char *want)
{
	char why[100];
	int r = e820_check(m, n, why, sizeof why);

	CHECKF(r == -1 && strcmp(why, want) == 0,
	       "got %d \"%s\", want -1 \"%s\"", r, why, want);
}

static void check_catches_bad_maps(void)
{
	static const struct mem_range overlap[] = {
		R(0x0, 0x2000, U), R(0x1000, 0x3000, RES),
	};
	static const struct mem_range unsorted[] = {
		R(0x5000, 0x6000, RES), R(0x1000, 0x2000, RES),
	};
	static const struct mem_range empty[] = {
		R(0x0, 0x1000, U), R(0x2000, 0x2000, RES),
	};
	static const struct mem_range unaligned[] = {
		R(0x0, 0x1800, U),
	};
	static const struct mem_range unmerged[] = {
		R(0x0, 0x1000, RES), R(0x1000, 0x2000, RES),
	};
	static const struct mem_range unknown[] = {
		R(0x0, 0x1000, 12),
	};
	char tiny[5];

	check_reports(overlap, 2, "range 1: overlaps the previous range");
	check_reports(unsorted, 2,
		      "range 1: starts below the previous range (not sorted)");
	check_reports(empty, 2, "range 1: empty (base >= end)");
	check_reports(unaligned, 1, "range 0: usable but not page-aligned");
	check_reports(unmerged, 2, "range 1: touches the previous range "
		      "and has its type (not merged)");
	check_reports(unknown, 1, "range 0: unknown type");
	check_reports(NULL, -1, "negative range count");
	/* A short buffer gets a cut, terminated reason; none gets none. */
	CHECK(e820_check(overlap, 2, tiny, sizeof tiny) == -1);
	CHECK(strcmp(tiny, "rang") == 0);
	CHECK(e820_check(overlap, 2, NULL, 0) == -1);
	CHECK(e820_check(q35_want, N(q35_want), tiny, sizeof tiny) == 0);
	CHECK(e820_check(NULL, 0, NULL, 0) == 0);
}

static void names(void)
{
	CHECK(strcmp(e820_type_name(U), "usable") == 0);
	CHECK(strcmp(e820_type_name(RES), "reserved") == 0);
	CHECK(strcmp(e820_type_name(E820_ACPI), "ACPI reclaimable") == 0);
	CHECK(strcmp(e820_type_name(E820_NVS), "ACPI NVS") == 0);
	CHECK(strcmp(e820_type_name(E820_UNUSABLE), "unusable") == 0);
	CHECK(strcmp(e820_type_name(K), "kernel") == 0);
	CHECK(strcmp(e820_type_name(B), "boot") == 0);
	CHECK(strcmp(e820_type_name(0), "reserved") == 0);
	CHECK(strcmp(e820_type_name(12), "reserved") == 0);
	CHECK(strcmp(e820_strerror(0), "no error") == 0);
	CHECK(strcmp(e820_strerror(E820_ERR_NO_ROOM),
		     "output map too small") == 0);
	CHECK(strcmp(e820_strerror(-99), "unknown E820 error") == 0);
	for (int e = E820_ERR_NO_ROOM; e <= E820_ERR_TOO_MANY; e++)
		CHECK(strcmp(e820_strerror(e), "unknown E820 error") != 0);
	CHECK(e820_usable_bytes(NULL, 0) == 0);
}

static void ram_types(void)
{
	static const uint32_t ram[] = { U, K, B, E820_ACPI, E820_NVS };
	static const uint32_t not_ram[] = { RES, E820_UNUSABLE, 0, 12 };

	for (unsigned i = 0; i < sizeof ram / sizeof ram[0]; i++)
		CHECKF(e820_is_ram(ram[i]), "type %u", ram[i]);
	for (unsigned i = 0; i < sizeof not_ram / sizeof not_ram[0]; i++)
		CHECKF(!e820_is_ram(not_ram[i]), "type %u", not_ram[i]);
}

/* The end of RAM is the end of the highest RAM range of any kind: here
 * ACPI reclaimable memory above the last usable range, which a kernel
 * frees once it has read the tables, and a reserved range above that
 * which is not RAM at all. */
static void ram_end_counts_acpi(void)
{
	static const struct mem_range m[] = {
		{ 0x100000, 0x7FF00000, U },
		{ 0x7FF00000, 0x7FFE0000, E820_ACPI },
		{ 0x7FFE0000, 0x80000000, E820_NVS },
		{ 0xB0000000, 0xC0000000, RES },
	};

	CHECK(e820_ram_end(m, 4) == 0x80000000);
	CHECK(e820_ram_end(m, 2) == 0x7FFE0000);
	CHECK(e820_ram_end(m, 1) == 0x7FF00000);
	CHECK(e820_ram_end(m + 3, 1) == 0);
	CHECK(e820_ram_end(NULL, 0) == 0);
}

/**
 * ## The randomized property test
 *
 * Two thousand random maps (fixed seed, so every run is the same) are
 * sanitised, and each output must pass `e820_check()` and agree with a
 * *reference*: a deliberately naive model written here, straight from
 * the rules, sharing no code with e820.c.
 *
 * The reference reads the input by rules 1 to 4 only: drop invalid and
 * empty entries, clip at 2^64 - 1, unknown types become reserved,
 * carves are widened to pages. For an address `a`, `ref(a)` is the
 * highest-ranked type among the ranges covering `a`, or "none".
 * Merging (rule 5) changes no address's type, so only the page shrink
 * (rule 6) separates output from reference. The property, for every
 * probed address `a`, with `out(a)` the type of the output range
 * holding `a` (or "none"):
 *
 * * if `ref(a)` is not usable, `out(a) == ref(a)`;
 * * if `ref(a)` is usable, `out(a)` is usable when every address of
 *   the 4 KiB page holding `a` is usable in the reference, and "none"
 *   otherwise.
 *
 * The second line is exact, not an approximation: the usable run
 * holding `a` is rounded inward to whole pages, so `a` survives just
 * when its whole page lies inside the run. Checking "every address of
 * the page" needs no loop over 4096 addresses: `ref` can only change
 * at a range boundary, so it is enough to look at the page's first
 * address and at every boundary inside the page.
 *
 * Probes: every input boundary, its neighbours, the page edges around
 * it, and random addresses. Two more properties are checked on each
 * map: shuffling the input gives the same output, and an output array
 * of exactly the needed size works while one slot less gives
 * E820_ERR_NO_ROOM.
 */

#define MAPS 2000

/* rnd() and below() come from check.h. */

struct random_map {
	struct e820_entry in[E820_MAX_ENTRIES];
	int n_in;
	struct mem_range carve[E820_MAX_CARVE];
	int n_carve;
	uint64_t pool[24];  /* addresses the ranges start from */
	int n_pool;
};

/* A few addresses for the ranges to share, so that they overlap and
 * touch often. Three flavours: low memory, the top of the address
 * space (to make ranges wrap), and anywhere in 64 bits. */
static void make_pool(struct random_map *m)
{
	static const uint64_t grain[] = {
		1, 0x10, 0x400, 0x800, 0x1000, 0x1000, 0x1000,
	};
	uint64_t g = grain[below(N(grain))];
	int flavour = (int)below(3);

	m->n_pool = 4 + (int)below(N(m->pool) - 3);
	for (int i = 0; i < m->n_pool; i++) {
		uint64_t a = below(0x40000);

		if (flavour == 1 && below(2))
			a = UINT64_MAX - a;
		else if (flavour == 2)
			a = rnd() >> below(64);
		m->pool[i] = a & ~(g - 1);
	}
}

static uint64_t pool_addr(const struct random_map *m)
{
	return m->pool[below((uint64_t)m->n_pool)];
}

static uint64_t random_length(const struct random_map *m, uint64_t base)
{
	uint64_t to = pool_addr(m);

	switch (below(8)) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX - below(0x10000);  /* wraps */
	case 2: case 3: case 4:
		if (to > base)
			return to - base;
		/* fall through */
	default:
		return 1 + below(0x8000);
	}
}

static void make_map(struct random_map *m)
{
	static const uint32_t types[] = {
		U, U, U, U, U, U, U, U, RES, RES, E820_ACPI, E820_NVS,
		E820_UNUSABLE, 0, 6, 7, 12, 0xFFFFFFFF, K,
	};

	make_pool(m);
	m->n_in = (int)(below(20) == 0 ? below(E820_MAX_ENTRIES + 1)
				       : below(25));
	for (int i = 0; i < m->n_in; i++) {
		struct e820_entry *e = &m->in[i];

		e->base = pool_addr(m);
		e->length = random_length(m, e->base);
		e->type = types[below(N(types))];
		e->acpi = below(8) == 0 ? (uint32_t)below(4) : 1;
	}
	m->n_carve = (int)below(E820_MAX_CARVE + 1);
	for (int i = 0; i < m->n_carve; i++) {
		struct mem_range *c = &m->carve[i];
		uint64_t len = below(10) == 0 ? 0 : below(0x5000);

		c->base = pool_addr(m);
		c->end = c->base + len < c->base ? UINT64_MAX
						 : c->base + len;
		c->type = below(2) ? K : B;
		if (below(10) == 0) {  /* backwards: means empty */
			uint64_t t = c->base;
			c->base = c->end;
			c->end = t;
		}
	}
}

/* ---- The reference model ---- */

struct ref_map {
	struct mem_range r[E820_MAX_ENTRIES + E820_MAX_CARVE];
	int n;
};

static int ref_rank(uint32_t type)
{
	static const uint32_t order[] = {
		U, B, K, E820_ACPI, E820_NVS, RES, E820_UNUSABLE,
	};

	for (int i = 0; i < N(order); i++)
		if (order[i] == type)
			return i + 1;
	return 0;
}

/* The input, read by rules 1 to 4, with 128-bit sums: no wrapping. */
static void ref_build(struct ref_map *ref, const struct random_map *m)
{
	const unsigned __int128 top = UINT64_MAX;

	ref->n = 0;
	for (int i = 0; i < m->n_in; i++) {
		const struct e820_entry *e = &m->in[i];
		unsigned __int128 end = (unsigned __int128)e->base + e->length;
		uint32_t t = e->type;

		if (e->length == 0 || !(e->acpi & 1))
			continue;
		if (t != U && t != E820_ACPI && t != E820_NVS &&
		    t != E820_UNUSABLE)
			t = RES;
		ref->r[ref->n++] = (struct mem_range)
			R(e->base, (uint64_t)(end > top ? top : end), t);
	}
	for (int i = 0; i < m->n_carve; i++) {
		const struct mem_range *c = &m->carve[i];
		unsigned __int128 end = ((unsigned __int128)c->end + 0xFFF) /
					0x1000 * 0x1000;

		if (c->base >= c->end)
			continue;
		ref->r[ref->n++] = (struct mem_range)
			R(c->base / 0x1000 * 0x1000,
			  (uint64_t)(end > top ? top : end), c->type);
	}
}

static uint32_t ref_type(const struct ref_map *ref, uint64_t a)
{
	uint32_t best = 0;

	for (int i = 0; i < ref->n; i++)
		if (ref->r[i].base <= a && a < ref->r[i].end &&
		    ref_rank(ref->r[i].type) > ref_rank(best))
			best = ref->r[i].type;
	return best;
}

/* Is every address of the page holding a usable in the reference? */
static bool ref_page_usable(const struct ref_map *ref, uint64_t a)
{
	uint64_t first = a & ~0xFFFull;

	if (first == 0xFFFFFFFFFFFFF000)  /* holds 2^64 - 1: never */
		return false;
	if (ref_type(ref, first) != U)
		return false;
	for (int i = 0; i < ref->n; i++) {
		uint64_t edge[2] = { ref->r[i].base, ref->r[i].end };

		for (int k = 0; k < 2; k++)
			if (edge[k] > first && edge[k] < first + 0x1000 &&
			    ref_type(ref, edge[k]) != U)
				return false;
	}
	return true;
}

static uint32_t expected_type(const struct ref_map *ref, uint64_t a)
{
	uint32_t t = ref_type(ref, a);

	if (t != U)
		return t;
	return ref_page_usable(ref, a) ? U : 0;
}

static uint32_t out_type(const struct mem_range *out, int n, uint64_t a)
{
	for (int i = 0; i < n; i++)
		if (out[i].base <= a && a < out[i].end)
			return out[i].type;
	return 0;
}

/* How often each interesting outcome was probed: a generator that
 * never reaches one would make the test pass for nothing. */
static int probed_usable, probed_shrunk, probed_other;

/* Probe a; returns false (and fails the case) on a mismatch. */
static bool probe(const struct ref_map *ref, const struct mem_range *out,
		  int n, uint64_t a, int map)
{
	uint32_t want = expected_type(ref, a);
	uint32_t got = out_type(out, n, a);

	if (want == U)
		probed_usable++;
	else if (want == 0 && ref_type(ref, a) == U)
		probed_shrunk++;
	else if (want != 0)
		probed_other++;

	CHECKF(got == want, "map %d, address %#lx: got type %#x, want %#x",
	       map, a, got, want);
	return got == want;
}

static bool probe_map(const struct ref_map *ref,
		      const struct mem_range *out, int n,
		      const struct random_map *m, int map)
{
	bool ok = probe(ref, out, n, 0, map) &&
		  probe(ref, out, n, UINT64_MAX, map);

	for (int i = 0; ok && i < ref->n; i++) {
		uint64_t edge[2] = { ref->r[i].base, ref->r[i].end };

		for (int k = 0; ok && k < 2; k++) {
			uint64_t e = edge[k], p = e & ~0xFFFull;
			uint64_t near[] = { e - 1, e, e + 1, p - 1, p,
					    p + 0xFFF, p + 0x1000 };

			for (int j = 0; ok && j < N(near); j++)
				ok = probe(ref, out, n, near[j], map);
		}
	}
	for (int j = 0; ok && j < 32; j++)
		ok = probe(ref, out, n, pool_addr(m) + below(0x3000) - 0x1000,
			   map);
	for (int j = 0; ok && j < 8; j++)
		ok = probe(ref, out, n, rnd(), map);
	return ok;
}

static bool same_ranges(const struct mem_range *a,
			const struct mem_range *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].base != b[i].base || a[i].end != b[i].end ||
		    a[i].type != b[i].type)
			return false;
	return true;
}

/* The input in another order must give the very same map. */
static bool shuffled_same(struct random_map *m,
			  const struct mem_range *out, int n, int map)
{
	struct mem_range *again = new_out(E820_MAX_OUT);
	int n2;
	bool ok;

	for (int i = m->n_in - 1; i > 0; i--) {
		int j = (int)below((uint64_t)i + 1);
		struct e820_entry t = m->in[i];

		m->in[i] = m->in[j];
		m->in[j] = t;
	}
	for (int i = m->n_carve - 1; i > 0; i--) {
		int j = (int)below((uint64_t)i + 1);
		struct mem_range t = m->carve[i];

		m->carve[i] = m->carve[j];
		m->carve[j] = t;
	}
	n2 = e820_sanitise(m->in, m->n_in, m->carve, m->n_carve, again,
			   E820_MAX_OUT);
	ok = n2 == n && same_ranges(out, again, n);
	CHECKF(ok, "map %d: shuffled input gave %d ranges, not %d", map,
	       n2, n);
	free(again);
	return ok;
}

/* Exactly n slots must do; n - 1 must fail without overflowing. */
static bool exact_size_works(const struct random_map *m,
			     const struct mem_range *out, int n, int map)
{
	struct mem_range *exact = new_out(n);
	int n2 = e820_sanitise(m->in, m->n_in, m->carve, m->n_carve, exact,
			       n);
	bool ok = n2 == n && same_ranges(out, exact, n);

	free(exact);
	if (ok && n > 0) {
		struct mem_range *less = new_out(n - 1);

		ok = e820_sanitise(m->in, m->n_in, m->carve, m->n_carve,
				   less, n - 1) == E820_ERR_NO_ROOM;
		free(less);
	}
	CHECKF(ok, "map %d: output of exactly %d (or %d) ranges", map, n,
	       n - 1);
	return ok;
}

static void random_maps(void)
{
	static struct random_map m;
	static struct ref_map ref;
	struct mem_range *out = new_out(E820_MAX_OUT);
	char why[100];
	int map, n, n_ranges = 0, n_probed = 0;
	bool ok = true;

	for (map = 0; ok && map < MAPS; map++) {
		make_map(&m);
		ref_build(&ref, &m);
		n = e820_sanitise(m.in, m.n_in, m.carve, m.n_carve, out,
				  E820_MAX_OUT);
		ok = n >= 0 && n <= (ref.n > 0 ? 2 * ref.n - 1 : 0);
		CHECKF(ok, "map %d: got %d ranges from %d inputs", map, n,
		       ref.n);
		if (ok) {
			ok = e820_check(out, n, why, sizeof why) == 0;
			CHECKF(ok, "map %d: e820_check: %s", map, why);
		}
		ok = ok && probe_map(&ref, out, n, &m, map);
		ok = ok && exact_size_works(&m, out, n, map);
		ok = ok && shuffled_same(&m, out, n, map);
		n_ranges += n;
		n_probed += ok;
	}
	CHECKF(n_probed == MAPS, "only %d maps of %d passed", n_probed,
	       MAPS);
	/* Guard against a generator that makes only trivial maps. */
	CHECKF(n_ranges > 4 * MAPS && probed_usable > 10 * MAPS &&
	       probed_shrunk > 2 * MAPS && probed_other > 50 * MAPS,
	       "weak generator: %d ranges; probes: %d usable, %d shrunk "
	       "away, %d other", n_ranges, probed_usable, probed_shrunk,
	       probed_other);

	free(out);
}

int main(void)
{
	check_seed(0x2545F4914F6CDD1Dull);
	RUN(q35_2g_tcg);
	RUN(seed_notes_acpi0_all_dropped);
	RUN(seed_notes_acpi1);
	RUN(unsorted_input);
	RUN(overlap_contained);
	RUN(overlap_partial_left);
	RUN(overlap_partial_right);
	RUN(overlap_identical);
	RUN(overlap_order_independent);
	RUN(overlap_three_way);
	RUN(overlap_rank_order);
	RUN(zero_length_dropped);
	RUN(wrap_past_2_64);
	RUN(carve_at_top);
	RUN(above_4gib);
	RUN(acpi_nvs_unusable_kept);
	RUN(unknown_types_reserved);
	RUN(attribute_valid_bit);
	RUN(empty_map);
	RUN(max_entries);
	RUN(too_many_entries);
	RUN(bad_carves);
	RUN(worst_case_output);
	RUN(output_too_small);
	RUN(adjacent_same_type_merged);
	RUN(usable_shrunk_to_pages);
	RUN(carve_straddles_boundaries);
	RUN(check_catches_bad_maps);
	RUN(names);
	RUN(ram_types);
	RUN(ram_end_counts_acpi);
	RUN(random_maps);
	return check_done("test_e820");
}
