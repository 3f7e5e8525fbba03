/*
 * e820.c: turn the BIOS memory map into one the kernel can trust.
 *
 * Pure logic: no hardware access, no globals, no libc. The host unit
 * tests (tests/host/test_e820.c) compile this very file.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "e820.h"
#include "kprintf.h"

/**
 * ## Why the raw map needs cleaning
 *
 * The BIOS answers INT 15h, EAX=E820h one range at a time, and the
 * specification promises very little about the list it produces. The
 * ranges may come in any order; they may overlap, with different
 * types; some may be empty; some may carry types this kernel has never
 * heard of. A kernel that believes such a list literally will sooner
 * or later hand out a page that firmware or a device is using.
 *
 * The kernel that this book started from (Redox 0.3.5) read the list
 * as it came: no sorting, no overlap handling, and its bootloader wrote
 * up to 800 entries while the kernel read only the first 512. Here the
 * bootloader stops at E820_MAX_ENTRIES, and this file refuses more
 * with an error instead of silently losing the rest.
 *
 * `e820_sanitise()` applies six rules. Each is listed with the reason
 * for it.
 *
 * 1. **Drop empty and invalid entries.** A length of 0 describes no
 *    memory at all. An entry whose extended attribute bit 0 is clear is
 *    dropped too: ACPI 3.0 defines that bit as "this entry is valid"
 *    and tells the OS to ignore entries without it. (ACPI 4.0 and later
 *    call the bit "reserved, must be 1", so a clear bit is still a sign
 *    of an entry not to trust.)
 *
 *    This rule only works because of a detail in the bootloader. Older
 *    firmware, SeaBIOS (the BIOS inside QEMU) among them, answer with
 *    20-byte entries: they never write the attribute word at all. So
 *    before each call the bootloader sets that word to 1, meaning
 *    "valid"; a 20-byte answer leaves the 1 in place. Redox's
 *    bootloader instead zeroed its whole buffer first, so every entry
 *    read back as `acpi: 0`. That explains the zeros in Redox's boot
 *    log: the BIOS was not saying "ignore me", it never spoke, and
 *    the zero came from the bootloader's own buffer. With such a
 *    buffer, rule 1 drops every entry and the map holds no RAM.
 *
 * 2. **Clip ranges that wrap.** If `base + length` is more than the
 *    64-bit address space holds, the sum wraps around to a small
 *    number, and the range would end before it begins. Only broken
 *    firmware does this, but the fix is cheap: the range is cut to end
 *    at the largest end we can store, `UINT64_MAX`. Since ends are
 *    exclusive, that loses the very last byte of the address space,
 *    0xFFFF_FFFF_FFFF_FFFF. No machine has memory there: x86-64
 *    physical addresses have at most 52 bits. Ranges above 4 GiB, in
 *    contrast, are perfectly normal: RAM beyond 4 GiB lives there, and
 *    QEMU with an AMD CPU model reserves 12 GiB just below 1 TiB
 *    (0xFD_0000_0000) for the HyperTransport hole. That one reserved
 *    range is why memory must be sized from *usable* ranges only.
 *
 * 3. **Unknown types count as reserved.** The ACPI specification asks
 *    the OS to treat type values it does not know as reserved. That
 *    covers 0 (undefined), 6 (AddressRangeDisabled),
 *    7 (AddressRangePersistentMemory), 12 (persistent memory on some
 *    firmware written before type 7 existed) and anything else. When
 *    in doubt, do not touch.
 *
 * 4. **Where ranges overlap, the most restrictive type wins.** Each
 *    type has a *rank*, lowest to highest:
 *
 *        usable < boot < kernel < ACPI reclaimable < ACPI NVS
 *               < reserved < unusable
 *
 *    Usable is lowest because every other type is a reason not to hand
 *    an address out. Boot is below kernel because boot memory may be
 *    freed one day and kernel memory never: if they overlap, freeing
 *    the boot memory must not free part of the kernel. Both are below
 *    every firmware type, because a claim by firmware outranks ours:
 *    if the kernel's range covered firmware memory, the map must still
 *    say "firmware". Among the firmware types, ACPI reclaimable is the
 *    mildest (it becomes RAM once the tables are read), NVS must be
 *    kept forever, reserved may be a device, and unusable RAM is broken
 *    and may fault when read.
 *
 *    The kernel's own ranges (its image, and the boot structures) come
 *    in as *carve* ranges and take part like any entry. They are first
 *    widened outward to whole 4 KiB pages, because the frame allocator
 *    thinks in pages: a page that holds even one byte of the kernel
 *    belongs to the kernel.
 *
 * 5. **The result is sorted, with no overlaps and no empty ranges, and
 *    touching ranges of the same type are merged.** Then every
 *    boundary in the map is a place where the type really changes,
 *    which makes the map short, easy to print and easy to check.
 *
 * 6. **Usable ranges are shrunk to whole 4 KiB pages**: the start is
 *    rounded up, the end down, and a range left with no page vanishes.
 *    On QEMU, usable low memory ends at 0x9FC00, in the middle of the
 *    page 0x9F000-0xA0000; the rest of that page is reserved firmware
 *    data. Handing out that page would let the kernel overwrite it.
 *    Shrinking happens *after* merging: the pieces 0x800-0x1800 and
 *    0x1800-0x2800 hold no whole page each, but together they hold the
 *    page 0x1000-0x2000.
 */

#define PAGE 4096ull  /* the x86 page size (4-level paging, 4 KiB) */

static uint64_t page_down(uint64_t a)
{
	return a & ~(PAGE - 1);
}

/* Round up to a page boundary. The last, partial page of the address
 * space has no page boundary above it that fits in 64 bits; give
 * UINT64_MAX, the highest end a range can have. */
static uint64_t page_up(uint64_t a)
{
	if (a > UINT64_MAX - (PAGE - 1))
		return UINT64_MAX;
	return page_down(a + PAGE - 1);
}

/* Rule 4's order. 0 means "not a type of the sanitised map". */
static int rank(uint32_t type)
{
	switch (type) {
	case E820_USABLE:   return 1;
	case E820_BOOT:     return 2;
	case E820_KERNEL:   return 3;
	case E820_ACPI:     return 4;
	case E820_NVS:      return 5;
	case E820_RESERVED: return 6;
	case E820_UNUSABLE: return 7;
	default:            return 0;
	}
}

/* Rule 3: the BIOS types we know stay, anything else is reserved. */
static uint32_t bios_type(uint32_t type)
{
	if (type >= E820_USABLE && type <= E820_UNUSABLE)
		return type;
	return E820_RESERVED;
}

/* Read raw entry e as a range, applying rules 1 to 3.
 * Returns false when the entry is dropped. */
static bool entry_range(const struct e820_entry *e, struct mem_range *r)
{
	if (e->length == 0 || (e->acpi & E820_ATTR_VALID) == 0)
		return false;
	r->base = e->base;
	if (e->length > UINT64_MAX - e->base)  /* base + length wraps */
		r->end = UINT64_MAX;
	else
		r->end = e->base + e->length;
	r->type = bios_type(e->type);
	return r->base < r->end;  /* clipping can leave nothing */
}

/* Read carve range c, widened outward to whole pages (rule 4).
 * Returns false when it is empty. */
static bool carve_range(const struct mem_range *c, struct mem_range *r)
{
	if (c->base >= c->end)
		return false;
	r->base = page_down(c->base);
	r->end = page_up(c->end);
	r->type = c->type;
	return true;
}

/**
 * ## The algorithm: a sweep along the address line
 *
 * Picture every range as a segment on the line of addresses, and walk
 * that line from 0 upward, stopping at each *boundary*: an address
 * where some range starts or ends. Between two consecutive stops no
 * range starts or ends, so the same set of ranges covers every address
 * there, and one type describes the whole stretch: the highest-ranked
 * type among the covering ranges (rule 4), or none at all if nothing
 * covers it (a hole in the map). Each stretch is appended to the
 * output, or merged into the previous range when it touches it and has
 * the same type (rule 5). When a range is complete, it is shrunk if
 * usable (rule 6) and written out.
 *
 * The next stop is found by looking at every range for the smallest
 * boundary above the current stop. That is slow in theory: with N
 * ranges there are up to 2N stops, and each needs two passes over the
 * N ranges, so the work grows as N squared. But N is at most
 * E820_MAX_ENTRIES + E820_MAX_CARVE = 136, so the sweep takes at most
 * about 74,000 small steps, once, at boot. In exchange, it needs no
 * sorting, no array of boundaries and no static storage. The ranges
 * are re-read from the caller's arrays at every step (cleaned by
 * `entry_range()` and `carve_range()` each time), so the function
 * uses only its arguments and a few locals: it is reentrant.
 */

/* Where the sweep reads its ranges: the raw entries, then the carves. */
struct sources {
	const struct e820_entry *in;
	int n_in;
	const struct mem_range *carve;
	int n_carve;
};

/* Fetch range i of the sources (0 <= i < n_in + n_carve), cleaned.
 * Returns false when rule 1 (or an empty carve) leaves nothing. */
static bool source_range(const struct sources *s, int i,
			 struct mem_range *r)
{
	if (i < s->n_in)
		return entry_range(&s->in[i], r);
	return carve_range(&s->carve[i - s->n_in], r);
}

/* Find the smallest boundary strictly above a.
 * Returns false when there is none: the sweep is over. */
static bool next_boundary(const struct sources *s, uint64_t a,
			  uint64_t *next)
{
	bool found = false;
	uint64_t best = 0;
	struct mem_range r;

	for (int i = 0; i < s->n_in + s->n_carve; i++) {
		if (!source_range(s, i, &r))
			continue;
		if (r.base > a && (!found || r.base < best)) {
			best = r.base;
			found = true;
		}
		if (r.end > a && (!found || r.end < best)) {
			best = r.end;
			found = true;
		}
	}
	*next = best;
	return found;
}

/* The highest-ranked type of the ranges covering address a,
 * or 0 when no range covers it. */
static uint32_t covering_type(const struct sources *s, uint64_t a)
{
	uint32_t best = 0;
	struct mem_range r;

	for (int i = 0; i < s->n_in + s->n_carve; i++) {
		if (!source_range(s, i, &r))
			continue;
		if (r.base <= a && a < r.end && rank(r.type) > rank(best))
			best = r.type;
	}
	return best;
}

/* The output being built: out[0..n-1] are finished ranges, run is the
 * range still growing (run.type == 0: none yet). */
struct builder {
	struct mem_range *out;
	int max_out;
	int n;
	struct mem_range run;
};

/* Finish the growing range: shrink it if usable (rule 6), and write it
 * out unless that left it empty. */
static int finish_run(struct builder *b)
{
	struct mem_range r = b->run;

	b->run.type = 0;
	if (r.type == 0)
		return 0;
	if (r.type == E820_USABLE) {
		r.base = page_up(r.base);
		r.end = page_down(r.end);
	}
	if (r.base >= r.end)
		return 0;
	if (b->n >= b->max_out)
		return E820_ERR_NO_ROOM;
	b->out[b->n++] = r;
	return 0;
}

/* Add the stretch [base, end) of the given type: grow the current
 * range if it touches and has the same type (rule 5), else start a
 * new one. */
static int add_stretch(struct builder *b, uint64_t base, uint64_t end,
		       uint32_t type)
{
	int err;

	if (b->run.type == type && b->run.end == base) {
		b->run.end = end;
		return 0;
	}
	err = finish_run(b);
	b->run.base = base;
	b->run.end = end;
	b->run.type = type;
	return err;
}

/* Reject bad counts and carve types before doing any work. */
static int check_args(int n_in, const struct mem_range *carve,
		      int n_carve)
{
	if (n_in < 0 || n_in > E820_MAX_ENTRIES)
		return E820_ERR_TOO_MANY;
	if (n_carve < 0 || n_carve > E820_MAX_CARVE)
		return E820_ERR_CARVE_MANY;
	for (int i = 0; i < n_carve; i++)
		if (carve[i].type != E820_KERNEL &&
		    carve[i].type != E820_BOOT)
			return E820_ERR_CARVE_TYPE;
	return 0;
}

int e820_sanitise(const struct e820_entry *in, int n_in,
		  const struct mem_range *carve, int n_carve,
		  struct mem_range *out, int max_out)
{
	struct sources s = { in, n_in, carve, n_carve };
	struct builder b = { out, max_out, 0, { 0, 0, 0 } };
	uint64_t at = 0, next = 0;
	int err;

	err = check_args(n_in, carve, n_carve);
	if (err)
		return err;
	/* [at, next) is one stretch: no boundary lies inside it. */
	while (next_boundary(&s, at, &next)) {
		uint32_t type = covering_type(&s, at);

		if (type != 0) {
			err = add_stretch(&b, at, next, type);
			if (err)
				return err;
		}
		at = next;
	}
	err = finish_run(&b);
	if (err)
		return err;
	return b.n;
}

/**
 * ## Checking a map
 *
 * `e820_check()` states, as code, everything a sanitised map
 * promises. The host tests run it on every map the sanitiser makes,
 * and the kernel can run it once at boot as a cheap self-test. It
 * reports the first broken promise as a short sentence, written by
 * `ksnprintf()` (format.c, pure logic like this file).
 */

/* Write "range <i>: <what>" (or just <what> if i < 0) into why.
 * Returns -1, so that callers can write `return bad(...)`. */
static int bad(char *why, size_t len, int i, const char *what)
{
	if (i >= 0)
		ksnprintf(why, why ? len : 0, "range %d: %s", i, what);
	else
		ksnprintf(why, why ? len : 0, "%s", what);
	return -1;
}

static bool page_aligned(uint64_t a)
{
	return (a & (PAGE - 1)) == 0;
}

int e820_check(const struct mem_range *m, int n, char *why, size_t len)
{
	if (n < 0)
		return bad(why, len, -1, "negative range count");
	for (int i = 0; i < n; i++) {
		const struct mem_range *r = &m[i];
		const struct mem_range *prev;

		if (rank(r->type) == 0)
			return bad(why, len, i, "unknown type");
		if (r->base >= r->end)
			return bad(why, len, i, "empty (base >= end)");
		if (r->type == E820_USABLE &&
		    (!page_aligned(r->base) || !page_aligned(r->end)))
			return bad(why, len, i, "usable but not page-aligned");
		if (i == 0)
			continue;
		prev = &m[i - 1];
		if (r->base < prev->base)
			return bad(why, len, i, "starts below the previous "
				   "range (not sorted)");
		if (r->base < prev->end)
			return bad(why, len, i, "overlaps the previous range");
		if (r->base == prev->end && r->type == prev->type)
			return bad(why, len, i, "touches the previous range "
				   "and has its type (not merged)");
	}
	return 0;
}

uint64_t e820_usable_bytes(const struct mem_range *m, int n)
{
	uint64_t total = 0;

	/* Disjoint ranges below 2^64 cannot add up past 2^64 - 1. */
	for (int i = 0; i < n; i++)
		if (m[i].type == E820_USABLE)
			total += m[i].end - m[i].base;
	return total;
}

bool e820_is_ram(uint32_t type)
{
	switch (type) {
	case E820_USABLE: case E820_KERNEL: case E820_BOOT:
	case E820_ACPI: case E820_NVS:
		return true;
	default:
		return false;
	}
}

uint64_t e820_ram_end(const struct mem_range *m, int n)
{
	uint64_t end = 0;

	for (int i = 0; i < n; i++)
		if (e820_is_ram(m[i].type) && m[i].end > end)
			end = m[i].end;
	return end;
}

const char *e820_type_name(uint32_t type)
{
	switch (type) {
	case E820_USABLE:   return "usable";
	case E820_ACPI:     return "ACPI reclaimable";
	case E820_NVS:      return "ACPI NVS";
	case E820_UNUSABLE: return "unusable";
	case E820_KERNEL:   return "kernel";
	case E820_BOOT:     return "boot";
	default:            return "reserved";  /* rule 3 */
	}
}

const char *e820_strerror(int err)
{
	if (err >= 0)
		return "no error";
	switch (err) {
	case E820_ERR_TOO_MANY:   return "too many E820 entries";
	case E820_ERR_CARVE_MANY: return "too many carve ranges";
	case E820_ERR_CARVE_TYPE: return "carve type not kernel or boot";
	case E820_ERR_NO_ROOM:    return "output map too small";
	default:                  return "unknown E820 error";
	}
}
