/*
 * check.h: the tiny test harness shared by the host test programs.
 *
 * A test program is a list of named *cases*. Each case prints exactly
 * one line:
 *
 *     PASS <name>
 *     FAIL <name>: <file>:<line>: <what went wrong>
 *
 * (only a case's first failure is shown), and the program's last line
 * is "<program>: N passed, M failed". Use:
 *
 *     static void q35_map(void) { CHECK(1 + 1 == 2); }
 *     int main(void)
 *     {
 *             RUN(q35_map);                 // case named "q35_map"
 *             check_begin("width %d", 5);   // a case with a built name
 *             CHECKF(x == 5, "x is %d", x);
 *             check_end();
 *             return check_done("test_demo");
 *     }
 */

#ifndef CHECK_H
#define CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Everything here is static: each test program is one C file. */
#define CHECK_API static __attribute__((unused))

static char check_name[200];     /* the current case */
static bool check_case_failed;   /* has it failed yet? */
static int check_passed, check_failed;

/* Start a case; the name is built like printf's output. */
CHECK_API __attribute__((format(printf, 1, 2)))
void check_begin(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(check_name, sizeof check_name, fmt, ap);
	va_end(ap);
	check_case_failed = false;
}

/* Record a failure in the current case; print it if it is the first. */
CHECK_API __attribute__((format(printf, 3, 4)))
void check_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (check_case_failed)
		return;
	check_case_failed = true;
	printf("FAIL %s: %s:%d: ", check_name, file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* End the current case: print PASS unless it failed, and count it. */
CHECK_API void check_end(void)
{
	if (check_case_failed) {
		check_failed++;
	} else {
		check_passed++;
		printf("PASS %s\n", check_name);
	}
	fflush(stdout);
}

/* Random numbers for the randomized tests: xorshift64*, from a fixed
 * seed (check_seed), so that every run of a test is the same run. */
static uint64_t check_rng = 0x9E3779B97F4A7C15ull;

CHECK_API void check_seed(uint64_t seed)
{
	check_rng = seed;
}

CHECK_API uint64_t rnd(void)
{
	check_rng ^= check_rng >> 12;
	check_rng ^= check_rng << 25;
	check_rng ^= check_rng >> 27;
	return check_rng * 0x2545F4914F6CDD1Dull;
}

/* A number from 0 to n - 1 (n > 0). */
CHECK_API uint64_t below(uint64_t n)
{
	return rnd() % n;
}

/* Print the summary line; the result is main's exit status. */
CHECK_API int check_done(const char *program)
{
	printf("%s: %d passed, %d failed\n", program, check_passed,
	       check_failed);
	return check_failed == 0 ? 0 : 1;
}

/* Fail the current case unless cond holds; the message is cond. */
#define CHECK(cond) \
	((cond) ? (void)0 : check_fail(__FILE__, __LINE__, "%s", #cond))

/* Same, with a printf-style message. */
#define CHECKF(cond, ...) \
	((cond) ? (void)0 : check_fail(__FILE__, __LINE__, __VA_ARGS__))

/* Run the function fn as one case named after it. */
#define RUN(fn) (check_begin("%s", #fn), fn(), check_end())

#endif /* CHECK_H */
