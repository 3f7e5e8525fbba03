/*
 * ktest.h: self-tests and test scenarios inside the kernel.
 *
 * A self-test checks one property of the running system and returns NULL
 * when it holds, or a message saying what is wrong:
 *
 *     SELFTEST(bss_is_zero)
 *     {
 *             return first_nonzero ? ktest_why("byte %p", p) : NULL;
 *     }
 *
 * A scenario is a named thing the test runner can ask the kernel to do
 * (`-fw_cfg name=opt/test,string=NAME`): "boot" runs every self-test;
 * others provoke a panic, a fault, and so on, to test those paths.
 */
#ifndef KTEST_H
#define KTEST_H

#include <stdbool.h>

struct selftest {
	const char *name;
	const char *(*run)(void);
};

struct scenario {
	const char *name;
	const char *what;       /* one line for the list of scenarios */
	void (*run)(void);
};

/**
 * ## Tests that register themselves
 *
 * `SELFTEST(name)` and `SCENARIO(name, what)` define a function and
 * also place a small record describing it in a special ELF section,
 * `.selftests` or `.scenarios`. The linker script gathers all records of
 * each kind into one array and marks its ends with symbols, so the test
 * runner walks the array without any file listing the tests by hand. A
 * later chapter adds its tests by adding a file; nothing else changes.
 * (Linux registers its init functions the same way.)
 *
 * One trap: gcc likes to align larger static variables to 16 or 32
 * bytes, which would leave gaps between the records and break the
 * array. `aligned(8)` on each record states its alignment exactly, and
 * both structs are a multiple of 8 bytes long, so the records sit back
 * to back.
 */
#define SELFTEST(fn)                                                   \
	static const char *fn(void);                                   \
	static const struct selftest selftest_##fn                     \
		__attribute__((used, section(".selftests"), aligned(8))) =  \
		{#fn, fn}; \
	static const char *fn(void)

#define SCENARIO(fn, text)                                             \
	static void fn(void);                                          \
	static const struct scenario scenario_##fn                     \
		__attribute__((used, section(".scenarios"), aligned(8))) = \
			{#fn, text, fn};                                  \
	static void fn(void)

const char *ktest_why(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void ktest_report(const char *name, const char *failure);
_Noreturn void ktest_finish(void);
const char *ktest_scenario_name(void);
void ktest_fault_point(const char *point);
_Noreturn void ktest_run_scenario(const char *name);

#endif
