/*
 * check.h: the tiny test harness shared by the host test programs.
 *
 * A test program is a list of named *cases*. Each case prints one line,
 *
 *     PASS <name>
 *     FAIL <name>: <file>:<line>: <what went wrong>
 *
 * and, under a FAIL, one indented line for each further failed check of
 * the case. The program's last line is "<program>: N passed, M failed".
 * Use:
 *
 *     static void q35_map(void) { CHECK(1 + 1 == 2); }
 *     int main(void)
 *     {
 *             RUN(q35_map);                 // case named "q35_map"
 *             CASE("width %d", 5) {         // a case with a built name
 *                     CHECKF(x == 5, "x is %d", x);
 *             }
 *             return check_done("test_demo");
 *     }
 *
 * ## A crash ends one case, not the program
 *
 * The code under test is kernel code, and a bug in it may well crash:
 * a wild pointer (caught by AddressSanitizer), undefined behaviour
 * (UBSan), an endless loop. So the cases run in a child process, and
 * the program itself only supervises: it forks the child at the first
 * case, learns from it through a pipe which case is running, and waits.
 * When the child dies inside a case, the supervisor prints that case's
 * FAIL line with the reason (the sanitizer's summary, the signal, or
 * "timed out"), then forks a new child that runs the cases before it
 * again, silently, so that they leave the same state behind, skips the
 * crashed one and carries on. Every case is reported, crash or not, and
 * a program never stops without saying why.
 *
 * Set CHECK_NOFORK=1 to run everything in one process, for gdb.
 */

#ifndef CHECK_H
#define CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Everything here is static: each test program is one C file. */
#define CHECK_API static __attribute__((unused))

#define CHECK_MAX_SHOWN 10     /* failed checks printed per case */
#ifndef CHECK_TIMEOUT
#define CHECK_TIMEOUT 120      /* seconds a case may take */
#endif

static char check_name[200];     /* the current case */
static bool check_in_case;       /* between check_begin and check_end */
static int check_case_failures;  /* failed checks in the current case */
#define check_case_failed (check_case_failures > 0)  /* for a loop's test */
static int check_passed, check_failed;
static int check_index;          /* cases begun so far */
static int check_replay_to;      /* child: cases up to this one were
				    reported by an earlier child */
static int check_crashed[64];    /* the cases that crashed, to skip */
static int check_crashes;
static int check_pipe = -1;      /* child: to the supervisor */

/* What a child tells the supervisor: a case began or ended, or the
 * program finished. One write each, well below PIPE_BUF: atomic. */
struct check_msg {
	char kind;                 /* 'B'egin, 'E'nd, 'A'bandoned, 'D'one */
	bool failed;               /* 'E': did the case fail? */
	int index;
	char name[200];            /* 'B': the case, 'D': the program */
};

static bool check_quiet(void)
{
	return check_index <= check_replay_to;
}

static void check_tell(char kind, bool failed, const char *name)
{
	struct check_msg m = { kind, failed, check_index, "" };

	if (check_pipe < 0)
		return;
	snprintf(m.name, sizeof m.name, "%s", name);
	if (write(check_pipe, &m, sizeof m) != (ssize_t)sizeof m)
		_exit(97);
}

/* (No <string.h>: with -I kernel it would be the kernel's own.) */
static bool check_has(const char *s, const char *word)
{
	for (; *s; s++) {
		size_t i = 0;

		while (word[i] && s[i] == word[i])
			i++;
		if (!word[i])
			return true;
	}
	return false;
}

static const char *check_signame(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV, a bad memory access";
	case SIGABRT: return "SIGABRT, abort()";
	case SIGALRM: return "SIGALRM: timed out";
	case SIGBUS:  return "SIGBUS";
	case SIGFPE:  return "SIGFPE, an arithmetic error";
	case SIGILL:  return "SIGILL";
	case SIGKILL: return "SIGKILL";
	default:      return "a signal";
	}
}

/* The child died; find a one-line reason in what it wrote to stderr
 * (a sanitizer's SUMMARY line, say), copying all of it to our stderr. */
static void check_reason(FILE *err, int status, char *why, size_t len)
{
	char line[512];
	bool found_ub = false;   /* UBSan's own line beats its SUMMARY */

	if (WIFSIGNALED(status))
		snprintf(why, len, "killed by signal %d (%s)",
			 WTERMSIG(status), check_signame(WTERMSIG(status)));
	else
		snprintf(why, len, "exited with status %d",
			 WEXITSTATUS(status));
	rewind(err);
	while (fgets(line, sizeof line, err)) {
		bool ub = check_has(line, "runtime error");

		fputs(line, stderr);
		if (found_ub || !(ub || check_has(line, "SUMMARY: ")))
			continue;
		found_ub = ub;
		for (char *c = line; *c; c++)
			if (*c == '\n')
				*c = '\0';
		snprintf(why, len, "crashed: %s", line);
	}
	fflush(stderr);
}

/* The supervisor's counts, and its end. */
static void check_finish(const char *program, int passed, int failed)
{
	printf("%s: %d passed, %d failed\n", program, passed, failed);
	fflush(stdout);
	_exit(failed == 0 ? 0 : 1);
}

/* Called at the first case: become the supervisor. Returns only in a
 * child, which then runs the cases. */
static void check_supervise(void)
{
	int passed = 0, failed = 0;
	char program[200] = "test";
	FILE *comm = fopen("/proc/self/comm", "r");

	if (comm) {
		if (fgets(program, sizeof program, comm))
			for (char *c = program; *c; c++)
				if (*c == '\n')
					*c = '\0';
		fclose(comm);
	}
	for (;;) {
		int fds[2], status;
		struct check_msg m, open = { 0 };
		bool done = false;
		FILE *err = tmpfile();
		pid_t pid;

		if (pipe(fds) != 0 || !err) {
			perror("check.h: pipe or tmpfile");
			exit(2);
		}
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		if (pid < 0) {
			perror("check.h: fork");
			exit(2);
		}
		if (pid == 0) {
			close(fds[0]);
			dup2(fileno(err), 2);
			fclose(err);
			check_pipe = fds[1];
			return;
		}
		close(fds[1]);
		while (read(fds[0], &m, sizeof m) == (ssize_t)sizeof m) {
			if (m.kind == 'B')
				open = m;
			else if (m.kind == 'E') {
				open.kind = 0;
				if (m.index <= check_replay_to)
					;       /* re-run: counted before */
				else if (m.failed)
					failed++;
				else
					passed++;
			} else if (m.kind == 'A') {
				open = m;       /* restart after it */
				open.kind = 'A';
			} else if (m.kind == 'D') {
				done = true;
				snprintf(program, sizeof program, "%s", m.name);
			}
		}
		close(fds[0]);
		waitpid(pid, &status, 0);
		if (done && WIFEXITED(status) && WEXITSTATUS(status) <= 1) {
			check_reason(err, status, open.name, 0);
			fclose(err);
			check_finish(program, passed, failed);
		}
		char why[400];

		check_reason(err, status, why, sizeof why);
		fclose(err);
		if (open.kind == 'A' && open.index > check_replay_to &&
		    check_crashes < (int)(sizeof check_crashed /
					  sizeof check_crashed[0])) {
			check_replay_to = open.index;   /* reported: go on */
			check_crashed[check_crashes++] = open.index;
			continue;
		}
		failed++;
		if (open.kind == 'B' && open.index > check_replay_to &&
		    check_crashes < (int)(sizeof check_crashed /
					  sizeof check_crashed[0])) {
			printf("FAIL %s: %s\n", open.name, why);
			check_replay_to = open.index;   /* skip it, go on */
			check_crashed[check_crashes++] = open.index;
			continue;
		}
		if (done)
			printf("FAIL %s: %s after its last case\n", program,
			       why);
		else if (open.kind == 'B' && open.index <= check_replay_to)
			printf("FAIL %s: %s again while re-running case %d; "
			       "giving up\n", program, why, open.index);
		else if (open.kind == 'B')
			printf("FAIL %s: %s; too many crashes, giving up\n",
			       open.name, why);
		else
			printf("FAIL %s: %s between cases, after case %d\n",
			       program, why, open.index);
		check_finish(program, passed, failed);
	}
}

/* End the current case: print PASS unless it failed, and count it. */
CHECK_API void check_end(void)
{
	if (!check_in_case)
		return;
	check_in_case = false;
	alarm(0);
	if (check_case_failures > CHECK_MAX_SHOWN && !check_quiet())
		printf("  (%d more failed checks in this case)\n",
		       check_case_failures - CHECK_MAX_SHOWN);
	if (check_case_failures) {
		check_failed++;
	} else {
		check_passed++;
		if (!check_quiet())
			printf("PASS %s\n", check_name);
	}
	fflush(stdout);
	check_tell('E', check_case_failures > 0, check_name);
}

/* Start a case; the name is built like printf's output. Returns false
 * when the body must be skipped: the case crashed in an earlier child.
 * Use it through CASE or RUN, which skip the body then. */
CHECK_API __attribute__((format(printf, 1, 2)))
bool check_begin(const char *fmt, ...)
{
	va_list ap;

	check_end();                  /* a body left by break or goto */
	if (check_index == 0 && check_pipe < 0 && !getenv("CHECK_NOFORK"))
		check_supervise();
	check_index++;
	va_start(ap, fmt);
	vsnprintf(check_name, sizeof check_name, fmt, ap);
	va_end(ap);
	check_case_failures = 0;
	for (int i = 0; i < check_crashes; i++)
		if (check_crashed[i] == check_index)
			return false;     /* this one crashed: skip it */
	check_in_case = true;
	check_tell('B', false, check_name);
	if (check_pipe >= 0)
		alarm(CHECK_TIMEOUT);
	return true;
}

/* Record a failure in the current case: the first one in the FAIL
 * line, the next ones indented below it. */
CHECK_API __attribute__((format(printf, 3, 4)))
void check_fail(const char *file, int line, const char *fmt, ...)
{
	static char msg[32768];
	va_list ap;

	if (++check_case_failures > CHECK_MAX_SHOWN || check_quiet())
		return;
	if (check_case_failures == 1)
		printf("FAIL %s: %s:%d: ", check_name, file, line);
	else
		printf("  also %s:%d: ", file, line);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* A message of several lines (a program's captured output, say)
	 * has its later lines marked, so that none of them can be read as
	 * a PASS or FAIL line of this program. */
	for (const char *c = msg; *c; c++) {
		putchar(*c);
		if (*c == '\n' && c[1])
			fputs("  | ", stdout);
	}
	printf("\n");
	fflush(stdout);
}

/* For code that finds the current case cannot go on (the code under
 * test called a function that must not return, say): end the case as
 * failed, and go on with the next one in a fresh child process. Call
 * check_fail first, to say why. */
CHECK_API _Noreturn void check_abandon(void)
{
	if (!check_case_failures)
		check_fail(__FILE__, __LINE__, "case abandoned");
	check_end();
	if (check_pipe < 0) {          /* CHECK_NOFORK: nobody to go on */
		printf("(abandoned; CHECK_NOFORK=1 stops here)\n");
		exit(1);
	}
	check_tell('A', true, check_name);
	_exit(0);
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

/* Print the summary line (the supervisor does, when there is one); the
 * result is main's exit status. */
CHECK_API int check_done(const char *program)
{
	check_end();
	if (check_pipe >= 0) {
		check_index = check_replay_to + 1;    /* never quiet */
		check_tell('D', false, program);
		return 0;
	}
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

/* A case whose body is the block that follows, named like printf. */
#define CASE(...)                                                      \
	for (bool check_once_ = check_begin(__VA_ARGS__); check_once_;  \
	     check_once_ = (check_end(), false))

/* Run the function fn as one case named after it. */
#define RUN(fn)                                                        \
	do {                                                           \
		if (check_begin("%s", #fn)) {                          \
			fn();                                          \
			check_end();                                   \
		}                                                      \
	} while (0)

#endif /* CHECK_H */
