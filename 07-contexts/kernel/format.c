/*
 * format.c: the printf engine shared by kprintf() and ksnprintf().
 *
 * Pure logic: it only turns a format string and arguments into
 * characters. Where the characters go is the caller's business. The
 * host tests (tests/host/test_format.c) compile this file and compare
 * its output with the host C library's snprintf.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kprintf.h"

/**
 * ## A printf of our own
 *
 * A kernel has no C library underneath it: it is compiled with
 * `-ffreestanding -nostdlib`, and the only headers it may use are the
 * few that need no code (`stdint.h`, `stddef.h`, `stdbool.h`,
 * `stdarg.h`). So it must format its own numbers.
 *
 * All the work happens in `kvformat()`, which hands each character it
 * produces to a function given by the caller. The same code can then
 * print to a serial port (`kprintf`, defined elsewhere), into a
 * buffer (`ksnprintf`, below), or into a test harness.
 *
 * A *directive* such as `%-08lx` is read in five parts, always in this
 * order:
 *
 *     %  flags  width  .precision  length  conversion
 *        -0     8 *    .5 .*       l ll z  d i u x X c s p %
 *
 * * Flags: `-` pads on the right instead of the left; `0` pads numbers
 *   with zeros instead of spaces (ignored with `-` or a precision).
 * * Width: the minimum number of characters. `*` takes it from the
 *   next `int` argument; a negative one means `-` and its size.
 * * Precision: for `%s`, the most characters to print; for numbers,
 *   the fewest digits (so `%.0d` prints nothing for 0), as in C.
 *   `.*` takes it from the next `int`; a negative one is ignored.
 * * Length: `l` for `long`, `ll` for `long long`, `z` for `size_t`.
 *   On x86-64 `long` has 64 bits, so a `uint64_t` prints with `%lu`.
 *
 * Where this printf differs from the C library's, on purpose:
 *
 * * `%p` always prints `0x` and 16 hex digits, so that addresses line
 *   up in columns. A width pads it with spaces; `0` is ignored.
 * * `%s` of a NULL pointer prints `(null)` instead of crashing; a
 *   precision may cut that short like any string.
 * * Widths and precisions above MAX_FIELD count as MAX_FIELD, so a
 *   mistyped format cannot print for minutes.
 * * Anything it does not understand is printed as written, from the
 *   `%` to the unknown character: `%q` prints `%q`, a lone `%` at the
 *   end prints `%`. That includes the flags `+`, space and `#`, and
 *   the lengths `h`, `hh`, `j`, `t` and `L`. Such a directive takes
 *   no argument (except those its `*`s took), so the arguments after
 *   it no longer match their directives: avoid them.
 */

#define MAX_FIELD 1024  /* largest width or precision obeyed */

/* One parsed directive. */
struct spec {
	bool left;    /* '-': pad on the right */
	bool zero;    /* '0': pad numbers with zeros */
	int width;    /* minimum field width; 0 if none */
	int prec;     /* precision; -1 if none */
	char length;  /* 0, 'l' (long), 'L' (long long), 'z' (size_t) */
	char conv;    /* conversion character; '\0' if fmt ended */
};

/* Where the characters go, and how many have gone. */
struct out {
	putc_fn put;
	void *arg;
	int count;
};

static void emit(struct out *o, char c)
{
	o->put(c, o->arg);
	o->count++;
}

static void emit_many(struct out *o, char c, int n)
{
	while (n-- > 0)
		emit(o, c);
}

/**
 * ## Reading the directive
 *
 * `va_list` deserves a word. The arguments after `fmt` are read one by
 * one with `va_arg(ap, type)`; the type must match what the caller
 * passed (after C's promotions: a `char` arrives as an `int`). On
 * x86-64, `va_list` is an *array* type, and an array parameter is
 * really a pointer, so it cannot be passed on to helpers by address
 * portably. `kvformat()` therefore makes its own copy with `va_copy()`
 * and hands the helpers a pointer to that copy.
 */

/* Read decimal digits at *p, advancing *p past them. */
static int parse_digits(const char **p)
{
	int v = 0;

	for (; **p >= '0' && **p <= '9'; (*p)++)
		if (v <= MAX_FIELD)  /* stop growing: no overflow */
			v = v * 10 + (**p - '0');
	return v > MAX_FIELD ? MAX_FIELD : v;
}

/* Read a width or precision given as '*': the next int argument. */
static int star_arg(va_list *ap)
{
	int v = va_arg(*ap, int);

	if (v > MAX_FIELD)
		return MAX_FIELD;
	if (v < -MAX_FIELD)
		return -MAX_FIELD;
	return v;
}

static void parse_width(const char **p, struct spec *sp, va_list *ap)
{
	if (**p != '*') {
		sp->width = parse_digits(p);
		return;
	}
	(*p)++;
	sp->width = star_arg(ap);
	if (sp->width < 0) {  /* C: a negative '*' width means '-' */
		sp->left = true;
		sp->width = -sp->width;
	}
}

static void parse_prec(const char **p, struct spec *sp, va_list *ap)
{
	sp->prec = -1;
	if (**p != '.')
		return;
	(*p)++;
	if (**p != '*') {
		sp->prec = parse_digits(p);  /* "." alone means 0 */
		return;
	}
	(*p)++;
	sp->prec = star_arg(ap);
	if (sp->prec < 0)  /* C: a negative '*' precision is none */
		sp->prec = -1;
}

static void parse_length(const char **p, struct spec *sp)
{
	sp->length = 0;
	if (**p == 'z') {
		sp->length = 'z';
		(*p)++;
	} else if (**p == 'l') {
		sp->length = 'l';
		(*p)++;
		if (**p == 'l') {
			sp->length = 'L';
			(*p)++;
		}
	}
}

/* Parse the directive after its '%'. Returns where the next text
 * starts: just past the conversion character, or at the final NUL. */
static const char *parse_spec(const char *p, struct spec *sp,
			      va_list *ap)
{
	sp->left = false;
	sp->zero = false;
	for (;; p++) {
		if (*p == '-')
			sp->left = true;
		else if (*p == '0')
			sp->zero = true;
		else
			break;
	}
	parse_width(&p, sp, ap);
	parse_prec(&p, sp, ap);
	parse_length(&p, sp);
	sp->conv = *p;
	return *p ? p + 1 : p;
}

/**
 * ## Printing a field
 *
 * Every conversion ends up as a *field*: an optional prefix (`-` or
 * `0x`), some leading zeros, the characters themselves, and enough
 * padding to reach the width. Padding is spaces on the left, spaces on
 * the right with `-`, or zeros between the prefix and the digits with
 * `0` (so -42 in `%05d` is `-0042`, not `00-42`).
 */

static int str_len(const char *s)
{
	int n = 0;

	while (s[n])
		n++;
	return n;
}

/* Print prefix, zeros zeros, then text[0..n-1], padded to the width.
 * zero_pad: fill the padding with zeros after the prefix. */
static void put_field(struct out *o, const struct spec *sp,
		      const char *prefix, int zeros,
		      const char *text, int n, bool zero_pad)
{
	int plen = str_len(prefix);
	int pad = sp->width - (plen + zeros + n);

	if (!sp->left && !zero_pad)
		emit_many(o, ' ', pad);
	while (*prefix)
		emit(o, *prefix++);
	if (!sp->left && zero_pad)
		emit_many(o, '0', pad);
	emit_many(o, '0', zeros);
	for (int i = 0; i < n; i++)
		emit(o, text[i]);
	if (sp->left)
		emit_many(o, ' ', pad);
}

/* Print v in base 10 or 16 (by sp->conv) after the given prefix. */
static void put_number(struct out *o, const struct spec *sp,
		       const char *prefix, uint64_t v)
{
	const char *set = sp->conv == 'X' ? "0123456789ABCDEF"
					  : "0123456789abcdef";
	unsigned base = (sp->conv == 'd' || sp->conv == 'i' ||
			 sp->conv == 'u') ? 10 : 16;
	char buf[20];  /* UINT64_MAX has 20 decimal digits */
	int first = sizeof buf;  /* digits are buf[first..19] */
	int n;

	/* Digits come out lowest first, so fill buf from its end.
	 * C rule: precision 0 prints the value 0 as no digits at all. */
	if (v != 0 || sp->prec != 0) {
		do {
			buf[--first] = set[v % base];
			v /= base;
		} while (v != 0);
	}
	n = (int)sizeof buf - first;
	put_field(o, sp, prefix, sp->prec > n ? sp->prec - n : 0,
		  buf + first, n, sp->zero && sp->prec < 0);
}

/* %d and %i: read the signed argument its length says, print it. */
static void put_signed(struct out *o, const struct spec *sp,
		       va_list *ap)
{
	int64_t v;

	if (sp->length == 'l')
		v = va_arg(*ap, long);
	else if (sp->length == 'L')
		v = va_arg(*ap, long long);
	else if (sp->length == 'z')  /* signed size_t: same 64 bits */
		v = (int64_t)va_arg(*ap, size_t);
	else
		v = va_arg(*ap, int);
	/* 0 - v in unsigned arithmetic: right even for INT64_MIN,
	 * whose magnitude does not fit in an int64_t. */
	if (v < 0)
		put_number(o, sp, "-", 0 - (uint64_t)v);
	else
		put_number(o, sp, "", (uint64_t)v);
}

/* %u, %x and %X: read the unsigned argument its length says. */
static void put_unsigned(struct out *o, const struct spec *sp,
			 va_list *ap)
{
	uint64_t v;

	if (sp->length == 'l')
		v = va_arg(*ap, unsigned long);
	else if (sp->length == 'L')
		v = va_arg(*ap, unsigned long long);
	else if (sp->length == 'z')
		v = va_arg(*ap, size_t);
	else
		v = va_arg(*ap, unsigned int);
	put_number(o, sp, "", v);
}

/* %p: "0x" and exactly 16 lower-case hex digits. Precision 16 makes
 * the leading zeros, and (as for any number with a precision) turns
 * the '0' flag off, so a width pads with spaces. */
static void put_pointer(struct out *o, const struct spec *sp,
			va_list *ap)
{
	struct spec p = *sp;

	p.conv = 'x';
	p.prec = 16;
	put_number(o, &p, "0x", (uintptr_t)va_arg(*ap, void *));
}

/* %s: at most prec characters; never reads past them. */
static void put_string(struct out *o, const struct spec *sp,
		       va_list *ap)
{
	const char *s = va_arg(*ap, const char *);
	int n = 0;

	if (s == NULL)
		s = "(null)";
	while ((sp->prec < 0 || n < sp->prec) && s[n] != '\0')
		n++;
	put_field(o, sp, "", 0, s, n, false);
}

/* %c: the char arrives promoted to int. */
static void put_char(struct out *o, const struct spec *sp, va_list *ap)
{
	char c = (char)va_arg(*ap, int);

	put_field(o, sp, "", 0, &c, 1, false);
}

/* Print one parsed directive. Returns false if its conversion is not
 * one we know; then nothing was printed. */
static bool convert(struct out *o, const struct spec *sp, va_list *ap)
{
	switch (sp->conv) {
	case 'd': case 'i':
		put_signed(o, sp, ap);
		return true;
	case 'u': case 'x': case 'X':
		put_unsigned(o, sp, ap);
		return true;
	case 'p':
		put_pointer(o, sp, ap);
		return true;
	case 's':
		put_string(o, sp, ap);
		return true;
	case 'c':
		put_char(o, sp, ap);
		return true;
	case '%':
		emit(o, '%');
		return true;
	default:
		return false;
	}
}

int kvformat(putc_fn put, void *arg, const char *fmt, va_list ap)
{
	struct out o = { put, arg, 0 };
	struct spec sp;
	va_list args;

	va_copy(args, ap);
	while (*fmt != '\0') {
		const char *start = fmt;

		if (*fmt != '%') {
			emit(&o, *fmt++);
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp, &args);
		if (!convert(&o, &sp, &args))
			while (start < fmt)  /* unknown: print as written */
				emit(&o, *start++);
	}
	va_end(args);
	return o.count;
}

/**
 * ## Printing into a buffer
 *
 * `ksnprintf()` is `kvformat()` with a put function that stores
 * characters while there is room and merely counts them after that.
 * One byte is always kept for the final NUL. The count of all
 * characters is returned, so a caller can tell that its buffer was too
 * small (return value >= size) and by how much.
 */

struct bounded {
	char *buf;
	size_t size;  /* bytes available, including the NUL */
	size_t at;    /* characters produced so far */
};

static void put_bounded(char c, void *arg)
{
	struct bounded *b = arg;

	if (b->at + 1 < b->size)
		b->buf[b->at] = c;
	b->at++;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct bounded b = { buf, size, 0 };
	int n = kvformat(put_bounded, &b, fmt, ap);

	if (size > 0)
		buf[b.at < size ? b.at : size - 1] = '\0';
	return n;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
