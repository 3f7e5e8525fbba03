/*
 * test_check.c: host unit tests for check.h, the host tests' harness.
 *
 * A harness that stops at a crash, or hides a failure, makes every
 * other host test prove less than it says. So this program runs a small
 * suite of its own in a child process, with cases that pass, fail,
 * crash in the ways kernel code can crash, and hang, then reads what
 * that suite printed and checks it line by line.
 */
#define CHECK_TIMEOUT 2          /* the hanging case: 2 s, not 120 */
#include "check.h"

/* The crashing cases must report within the hanging case's 2 s even on
 * a busy machine: AddressSanitizer's report of a crash is quick when it
 * does not look up source lines (the checks only read its first line). */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "symbolize=0"; }

#include <fcntl.h>

/* ---- The suite under test ---------------------------------------- */

static int state;               /* carried from case to case */
static int four[4];

static void pass_first(void) { state = 1; CHECK(state == 1); }
static void wild_pointer(void) { *(volatile int *)16 = 1; }
static void second_sees_first(void) { CHECK(++state == 2); }
static void past_an_array(void) { volatile int i = 4; four[i] = 1; }
static void overflows(void) { volatile int x = 0x7fffffff; x += 1; }
static void hangs(void) { for (;;) continue; }

static void fails_three_times(void)
{
	CHECKF(0, "first");
	CHECKF(0, "second");
	CHECKF(0, "third");
}

static void gives_up(void)
{
	check_fail(__FILE__, __LINE__, "cannot go on");
	check_abandon();
}

static int demo_suite(void)
{
	RUN(pass_first);
	RUN(wild_pointer);
	RUN(second_sees_first);
	RUN(past_an_array);
	RUN(overflows);
	RUN(fails_three_times);
	RUN(hangs);
	RUN(gives_up);
	CASE("built %d", 7) {
		CHECKF(state == 2, "state %d", state);
	}
	return check_done("demo");
}

/* ---- Running it and reading what it says ------------------------- */

static char out[16384];         /* what the demo suite printed */
static int demo_status;

static void demo_run(void)
{
	int fds[2];
	pid_t pid;
	ssize_t n, got = 0;

	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		perror("test_check");
		exit(2);
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(fds[1], 1);
		dup2(null, 2);          /* the sanitizers' reports */
		close(fds[0]);
		exit(demo_suite());
	}
	close(fds[1]);
	while ((n = read(fds[0], out + got, sizeof out - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	waitpid(pid, &demo_status, 0);
}

/* How many lines of the output start with prefix? (No <string.h>:
 * with -I kernel it would be the kernel's own.) */
static int lines_with(const char *prefix)
{
	int n = 0;

	for (const char *l = out; *l;) {
		size_t i = 0;

		while (prefix[i] && prefix[i] == l[i])
			i++;
		n += !prefix[i];
		while (*l && *l != '\n')
			l++;
		if (*l)
			l++;
	}
	return n;
}

#define EXPECT_LINE(prefix) \
	CHECKF(lines_with(prefix) > 0, "no line \"%s\" in:\n%s", prefix, out)

static void passes_are_reported(void)
{
	EXPECT_LINE("PASS pass_first");
	EXPECT_LINE("PASS second_sees_first");
}

static void a_crash_fails_its_case_only(void)
{
	EXPECT_LINE("FAIL wild_pointer: crashed: ");
	EXPECT_LINE("FAIL past_an_array: crashed: ");
	EXPECT_LINE("FAIL overflows: crashed: ");
}

static void a_hang_times_out(void)
{
	EXPECT_LINE("FAIL hangs: killed by signal 14 (SIGALRM: timed out)");
}

static void every_failed_check_shown(void)
{
	EXPECT_LINE("FAIL fails_three_times: ");
	EXPECT_LINE("  also ");
	EXPECT_LINE("FAIL gives_up: ");
}

/* The cases after a crash run in a fresh process that ran the earlier
 * cases again, silently: their state is there, their lines are not
 * printed twice. */
static void cases_after_a_crash_keep_state(void)
{
	EXPECT_LINE("PASS built 7");
	CHECKF(lines_with("PASS pass_first") == 1,
	       "pass_first reported %d times", lines_with("PASS pass_first"));
}

static void summary_counts_every_case(void)
{
	EXPECT_LINE("demo: 3 passed, 6 failed");
	CHECK(WIFEXITED(demo_status) && WEXITSTATUS(demo_status) == 1);
}

int main(void)
{
	demo_run();
	RUN(passes_are_reported);
	RUN(a_crash_fails_its_case_only);
	RUN(a_hang_times_out);
	RUN(every_failed_check_shown);
	RUN(cases_after_a_crash_keep_state);
	RUN(summary_counts_every_case);
	return check_done("test_check");
}
