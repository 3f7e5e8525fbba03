/*
 * test_format.c: host unit tests for kernel/format.c.
 *
 * Unity build, like test_e820.c. From 01-boot-e820:
 *
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror -DHOST_TEST \
 *       -I kernel -o build/host/test_format tests/host/test_format.c
 *   build/host/test_format
 *
 * Most cases compare ksnprintf() with the host C library's snprintf
 * on the same format and arguments: for everything format.c claims to
 * do as C does, the two must agree byte for byte. The cases where
 * format.c differs on purpose (%p, NULL strings, unknown directives)
 * are checked against fixed expected strings.
 */

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "check.h"
#include "../../kernel/format.c"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/*
 * ksnprintf without the format attribute. The compiler checks every
 * literal format given to ksnprintf and, with -Werror, refuses the
 * deliberately bad ones ("%q", a lone "%"). Going through this wrapper
 * hides them from that check, which is the point here.
 */
static int ksn(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* Compare one result pair: return values, and the bytes written
 * (which may include a NUL from %c, so compare by length). */
static void same_output(const char *fmt, const char *kbuf, int k,
			const char *hbuf, int h)
{
	CHECKF(k == h && memcmp(kbuf, hbuf, (size_t)k + 1) == 0,
	       "format \"%s\": got %d \"%s\", C library %d \"%s\"", fmt, k,
	       kbuf, h, hbuf);
}

/* Call ksnprintf and snprintf with the same arguments and compare. */
#define BOTH(fmt, ...)                                                \
	do {                                                          \
		char kb_[300], hb_[300];                              \
		int k_ = ksn(kb_, sizeof kb_, fmt, __VA_ARGS__);      \
		int h_ = snprintf(hb_, sizeof hb_, fmt, __VA_ARGS__); \
		same_output(fmt, kb_, k_, hb_, h_);                   \
	} while (0)

/* The same, with '*' arguments in front when the format has them:
 * stars 1 = width, 2 = precision, 3 = both. */
#define BOTH_STARS(fmt, stars, w, p, val)                             \
	do {                                                          \
		switch (stars) {                                      \
		case 0: BOTH(fmt, val); break;                        \
		case 1: BOTH(fmt, w, val); break;                     \
		case 2: BOTH(fmt, p, val); break;                     \
		default: BOTH(fmt, w, p, val); break;                 \
		}                                                     \
	} while (0)

/* ---- Numbers, generated --------------------------------------------- */

static const int64_t signed_values[] = {
	0, 1, -1, 9, -10, 42, -42, 127, -128, 32767, 65535,
	2147483647, -2147483647 - 1, 4294967295, 123456789012,
	-123456789012, INT64_MAX, INT64_MIN,
};

static const uint64_t unsigned_values[] = {
	0, 1, 9, 10, 15, 16, 0xab, 0xff, 0x1000, 0xdeadbeef, 0xffffffff,
	0x100000000, 0x123456789abcdef0, 1ull << 63, UINT64_MAX,
};

static const int star_widths[] = { 0, 1, 6, 25, -7 };
static const int star_precs[] = { -1, 0, 3, 12 };

/* Pass v as the type the length modifier asks for, and compare. */
static void compare_number(const char *fmt, int stars, int w, int p,
			   char length, bool is_signed, uint64_t v)
{
	if (is_signed) {
		switch (length) {
		case 'l': BOTH_STARS(fmt, stars, w, p, (long)v); break;
		case 'L': BOTH_STARS(fmt, stars, w, p, (long long)v); break;
		case 'z': BOTH_STARS(fmt, stars, w, p, (ssize_t)v); break;
		default:  BOTH_STARS(fmt, stars, w, p, (int)v); break;
		}
	} else {
		switch (length) {
		case 'l':
			BOTH_STARS(fmt, stars, w, p, (unsigned long)v);
			break;
		case 'L':
			BOTH_STARS(fmt, stars, w, p, (unsigned long long)v);
			break;
		case 'z': BOTH_STARS(fmt, stars, w, p, (size_t)v); break;
		default:  BOTH_STARS(fmt, stars, w, p, (unsigned)v); break;
		}
	}
}

/* One case: a conversion, length, flags and width, tried with every
 * precision and every value, inside some text. */
static void number_case(char conv, const char *len, const char *flags,
			const char *width)
{
	static const char *const precs[] = { "", ".0", ".5", ".17", ".*" };
	bool is_signed = conv == 'd' || conv == 'i';
	int n_values = is_signed ? N(signed_values) : N(unsigned_values);
	char length = strcmp(len, "ll") == 0 ? 'L' : len[0];
	int count = 0;

	if (!check_begin("vs snprintf: %%%s%s%s%c", flags, width, len, conv))
		return;     /* it crashed in an earlier run */
	for (int pi = 0; pi < N(precs); pi++) {
		char fmt[40];
		int stars = (width[0] == '*') +
			    2 * (strcmp(precs[pi], ".*") == 0);

		snprintf(fmt, sizeof fmt, "<%%%s%s%s%s%c>", flags, width,
			 precs[pi], len, conv);
		for (int i = 0; i < n_values; i++, count++) {
			uint64_t v = is_signed ? (uint64_t)signed_values[i]
					       : unsigned_values[i];
			int w = star_widths[count % N(star_widths)];
			int p = star_precs[count % N(star_precs)];

			compare_number(fmt, stars, w, p, length, is_signed,
				       v);
		}
	}
	check_end();
}

static void number_cases(void)
{
	static const char convs[] = "diuxX";
	static const char *const lens[] = { "", "l", "ll", "z" };
	static const char *const flags[] = { "", "-", "0", "-0" };
	static const char *const widths[] = { "", "1", "7", "22", "*" };

	for (int c = 0; convs[c]; c++)
		for (int l = 0; l < N(lens); l++)
			for (int f = 0; f < N(flags); f++)
				for (int w = 0; w < N(widths); w++)
					number_case(convs[c], lens[l],
						    flags[f], widths[w]);
}

/* ---- Strings and characters, generated ------------------------------ */

static void string_case(const char *flags, const char *width,
			const char *prec)
{
	static const char *const strings[] = {
		"", "a", "hello", "a longer string, 31 characters",
	};
	int stars = (width[0] == '*') + 2 * (strcmp(prec, ".*") == 0);
	char fmt[40];

	snprintf(fmt, sizeof fmt, "[%%%s%s%ss]", flags, width, prec);
	if (!check_begin("vs snprintf: %%%s%s%ss", flags, width, prec))
		return;     /* it crashed in an earlier run */
	for (int i = 0; i < N(strings); i++)
		for (int j = 0; j < N(star_widths); j++)
			BOTH_STARS(fmt, stars, star_widths[j],
				   star_precs[j % N(star_precs)],
				   strings[i]);
	check_end();
}

static void char_case(const char *flags, const char *width)
{
	static const char chars[] = { 'A', ' ', '~', '%', '\0' };
	int stars = width[0] == '*';
	char fmt[40];

	snprintf(fmt, sizeof fmt, "(%%%s%sc)", flags, width);
	if (!check_begin("vs snprintf: %%%s%sc", flags, width))
		return;     /* it crashed in an earlier run */
	for (int i = 0; i < N(chars); i++)
		for (int j = 0; j < N(star_widths); j++)
			BOTH_STARS(fmt, stars, star_widths[j], 0, chars[i]);
	check_end();
}

static void text_cases(void)
{
	static const char *const flags[] = { "", "-" };
	static const char *const widths[] = { "", "1", "8", "40", "*" };
	static const char *const precs[] = { "", ".", ".0", ".2", ".10",
					     ".*" };

	for (int f = 0; f < N(flags); f++)
		for (int w = 0; w < N(widths); w++)
			for (int p = 0; p < N(precs); p++)
				string_case(flags[f], widths[w], precs[p]);
	for (int f = 0; f < N(flags); f++)
		for (int w = 0; w < N(widths); w++)
			char_case(flags[f], widths[w]);
}

/* ---- Fixed cases ------------------------------------------------------ */

/* ksnprintf into a large buffer; compare with want, and the return
 * value with strlen(want). */
#define EXPECT(want, ...)                                             \
	do {                                                          \
		char b_[2000];                                        \
		int n_ = ksn(b_, sizeof b_, __VA_ARGS__);             \
		CHECKF(n_ == (int)strlen(want) && strcmp(b_, want) == 0, \
		       "got %d \"%s\", want \"%s\"", n_, b_, want);   \
	} while (0)

static void plain_text_and_percent(void)
{
	EXPECT("", "");
	EXPECT("hello", "hello");
	EXPECT("100%", "100%%");
	EXPECT("%%", "%%%%");
	EXPECT("a1b2c", "a%db%dc", 1, 2);
}

static void null_string(void)
{
	EXPECT("(null)", "%s", (char *)NULL);
	EXPECT("[  (null)]", "[%8s]", (char *)NULL);
	EXPECT("[(null)  ]", "[%-8s]", (char *)NULL);
	EXPECT("(nu", "%.3s", (char *)NULL);
	EXPECT("x(null)y", "x%sy", (char *)NULL);
}

/* Unknown conversions are printed as written and take no argument. */
static void unknown_conversion(void)
{
	EXPECT("%q", "%q");
	EXPECT("a%qb", "a%qb");
	EXPECT("%-5q", "%-5q");
	EXPECT("%lq", "%lq");
	EXPECT("%llq", "%llq");
	EXPECT("%.3q", "%.3q");
	EXPECT("%hd", "%hd", 5);
	EXPECT("%+d", "%+d", 5);
	EXPECT("%#x", "%#x", 5);
	EXPECT("%jd 7", "%jd %d", 7);
	/* A '*' before the unknown character did take its argument. */
	EXPECT("%*q 9", "%*q %d", 3, 9);
}

static void lone_percent(void)
{
	EXPECT("%", "%");
	EXPECT("abc%", "abc%");
	EXPECT("%5", "%5");
	EXPECT("%-", "%-");
	EXPECT("%l", "%l");
	EXPECT("%ll", "%ll");
	EXPECT("%z", "%z");
	EXPECT("%.", "%.");
	EXPECT("x=1 %", "x=%d %", 1);
}

/* %p: always 0x and 16 lower-case hex digits; width pads with spaces,
 * '0' is ignored. */
static void pointer(void)
{
	EXPECT("0x0000000000000000", "%p", (void *)0);
	EXPECT("0x00000000deadbeef", "%p", (void *)0xdeadbeef);
	EXPECT("0xffffffffffffffff", "%p", (void *)UINTPTR_MAX);
	EXPECT("0xffff800000001000", "%p", (void *)0xffff800000001000);
	EXPECT("  0x0000000000001234", "%20p", (void *)0x1234);
	EXPECT("0x0000000000001234  |", "%-20p|", (void *)0x1234);
	EXPECT("  0x0000000000001234", "%020p", (void *)0x1234);
	EXPECT("0x0000000000001234", "%5p", (void *)0x1234);
}

static void extreme_integers(void)
{
	EXPECT("-9223372036854775808", "%ld", (long)INT64_MIN);
	EXPECT("-9223372036854775808", "%lld", (long long)INT64_MIN);
	EXPECT("-9223372036854775808", "%li", (long)INT64_MIN);
	EXPECT("9223372036854775807", "%ld", (long)INT64_MAX);
	EXPECT("8000000000000000", "%lx", (unsigned long)INT64_MIN);
	EXPECT("18446744073709551615", "%lu", (unsigned long)UINT64_MAX);
	EXPECT("FFFFFFFFFFFFFFFF", "%lX", (unsigned long)UINT64_MAX);
	EXPECT("-2147483648", "%d", INT_MIN);
	EXPECT("4294967295", "%u", UINT_MAX);
	EXPECT("-00009223372036854775808", "%024ld", (long)INT64_MIN);
	EXPECT("   -9223372036854775808", "%23ld", (long)INT64_MIN);
}

/* The kernel prints uint64_t with %lu / %lx. This case is really a
 * compile-time test: -Wformat -Werror must accept these lines. */
static void uint64_with_l(void)
{
	char b[40];
	uint64_t v = 0x100000000;
	size_t z = 12345;

	ksnprintf(b, sizeof b, "%lu %lx %zu", v, v, z);
	CHECK(strcmp(b, "4294967296 100000000 12345") == 0);
}

static void widths(void)
{
	EXPECT("42", "%0d", 42);        /* '0' flag, no width */
	EXPECT("42", "%*d", 0, 42);     /* width 0 */
	EXPECT("12345", "%1d", 12345);  /* narrower than the number */
	EXPECT("[42   ]", "[%*d]", -5, 42);  /* negative: left */
	EXPECT("[   42]", "[%*d]", 5, 42);
	EXPECT("[-0042]", "[%05d]", -42);
	EXPECT("[-42  ]", "[%-05d]", -42);
	EXPECT("[  042]", "[%05.3d]", 42);  /* precision beats '0' */
	EXPECT("[     ]", "[%5.0d]", 0);
	EXPECT("[0]", "[%.*d]", -3, 0);     /* negative: no precision */
	EXPECT("[hel]", "[%.*s]", 3, "hello");
}

/* A character sink that counts without storing. */
static void count_only(char c, void *arg)
{
	(void)c;
	(*(long *)arg)++;
}

static int count_format(long *seen, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvformat(count_only, seen, fmt, ap);
	va_end(ap);
	return n;
}

/* Absurd widths and precisions are cut to MAX_FIELD. */
static void huge_widths_clamped(void)
{
	long seen = 0;

	CHECK(count_format(&seen, "%5000d", 1) == MAX_FIELD);
	CHECK(seen == MAX_FIELD);
	CHECK(count_format(&seen, "%99999999999999999999d", 1) == MAX_FIELD);
	CHECK(count_format(&seen, "%*d", INT_MIN, 1) == MAX_FIELD);
	CHECK(count_format(&seen, "%*d", INT_MAX, 1) == MAX_FIELD);
	CHECK(count_format(&seen, "%.5000d", 1) == MAX_FIELD);
	CHECK(count_format(&seen, "%.*d", INT_MAX, 1) == MAX_FIELD);
	CHECK(seen == 6 * MAX_FIELD);
}

/* The buffer is exactly size bytes (malloc), so ASan sees any write
 * past it. */
static void truncate_into(size_t size, const char *want, int want_n)
{
	char *b = malloc(size > 0 ? size : 1);
	int n;

	b[0] = 'X';
	n = ksnprintf(size > 0 ? b : NULL, size, "hello %s", "world");
	CHECKF(n == want_n, "size %zu: returned %d", size, n);
	if (size > 0)
		CHECKF(strcmp(b, want) == 0, "size %zu: got \"%s\"", size, b);
	free(b);
}

static void truncation(void)
{
	char b[8];

	truncate_into(0, "", 11);
	truncate_into(1, "", 11);
	truncate_into(2, "h", 11);
	truncate_into(5, "hell", 11);
	truncate_into(11, "hello worl", 11);
	truncate_into(12, "hello world", 11);
	truncate_into(13, "hello world", 11);
	/* size 0 with a real buffer: not one byte written */
	b[0] = 'X';
	CHECK(ksnprintf(b, 0, "%d", 123) == 3 && b[0] == 'X');
	/* a number cut in the middle */
	CHECK(ksnprintf(b, 4, "%ld", (long)INT64_MIN) == 20);
	CHECK(strcmp(b, "-92") == 0);
}

/* kvformat itself: every character reaches put, in order. */
struct collect {
	char buf[64];
	int n;
};

static void collect_char(char c, void *arg)
{
	struct collect *col = arg;

	if (col->n < (int)sizeof col->buf - 1)
		col->buf[col->n] = c;
	col->n++;
}

static int collect(struct collect *col, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvformat(collect_char, col, fmt, ap);
	va_end(ap);
	col->buf[col->n < 63 ? col->n : 63] = '\0';
	return n;
}

static void kvformat_to_callback(void)
{
	struct collect col = { .n = 0 };
	int n = collect(&col, "%s=%d%c", "x", -7, '\0');

	CHECK(n == 5 && col.n == 5);
	CHECK(memcmp(col.buf, "x=-7\0", 5) == 0);
}

int main(void)
{
	number_cases();
	text_cases();
	RUN(plain_text_and_percent);
	RUN(null_string);
	RUN(unknown_conversion);
	RUN(lone_percent);
	RUN(pointer);
	RUN(extreme_integers);
	RUN(uint64_with_l);
	RUN(widths);
	RUN(huge_widths_clamped);
	RUN(truncation);
	RUN(kvformat_to_callback);
	return check_done("test_format");
}
