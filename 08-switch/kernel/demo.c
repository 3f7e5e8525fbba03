/*
 * demo.c: what `make run` shows of chapter 08: worker threads drawing
 * on the VGA screen in the colour of the CPU that runs them, and the
 * scheduler's status line each second, on the screen and the serial
 * port, for a few seconds; then the boot ends as in chapter 07.
 */
#include "clock.h"
#include "console.h"
#include "context.h"
#include "kprintf.h"
#include "percpu.h"
#include "spinlock.h"
#include "vga.h"
#include "x86.h"

/**
 * ## Watching the scheduler work
 *
 * The top DEMO_ROWS rows of the screen become a picture: worker k owns
 * row k, and every few milliseconds of CPU time it paints its next cell
 * with the colour of the CPU it runs on now (CPU 0 blue, 1 green, 2
 * cyan, 3 red, ...: the VGA's eight background colours, in turn). The
 * workers never yield. A row that changes colour shows a context that
 * moved to another CPU; rows of one CPU's colour growing in turn, a
 * few cells at a time, show that CPU's time slices going round. The
 * workers are twice as many as the CPUs, started together: the least
 * loaded CPU takes each, and the balancing evens out the rest.
 *
 * Below the picture, the console goes on: every second the status line
 * (sched_status_main(), sched_setup.c) gives per CPU the switches in
 * that second, its idle time and its run queue's length. The same
 * lines go to the serial port. `make run CH=08 SMP=4` shows it live.
 */
#define DEMO_ROWS 12
#define DEMO_SECONDS 5
#define CELL_NS 8000000ull           /* CPU time per cell: 8 ms */

extern struct spinlock console_lock;   /* console.c: a leaf */

static volatile int demo_on;

static uint8_t cpu_colour(unsigned cpu)
{
	return (uint8_t)((1 + cpu % 7) << 4 | 0x0F);  /* white on colour */
}

static long worker(void *arg)
{
	int r = (int)(uintptr_t)arg, c = 0;
	struct context *me = context_current();
	uint64_t next = me->se.runtime + CELL_NS;

	while (demo_on) {
		if (me->se.runtime + (clock_ns() - me->se.exec_start) < next) {
			cpu_relax();
			continue;
		}
		next += CELL_NS;
		spin_lock(&console_lock);
		vga_cell(r, c, (char)('0' + sched_cpu() % 10),
			 cpu_colour(sched_cpu()));
		spin_unlock(&console_lock);
		c = (c + 1) % 80;
	}
	return c;
}

static long demo_main(void *unused)
{
	unsigned n = 2 * cpu_count();
	ctx_id_t ids[DEMO_ROWS], status;

	(void)unused;
	n = n > DEMO_ROWS ? DEMO_ROWS : n;
	spin_lock(&console_lock);
	vga_reserve_top(DEMO_ROWS);
	spin_unlock(&console_lock);
	kprintf("demo: %u workers on %u CPUs for %u s: each paints its row "
		"in its CPU's colour\n", n, cpu_count(), DEMO_SECONDS);
	demo_on = 1;
	for (unsigned k = 0; k < n; k++)
		ids[k] = context_spawn(worker, (void *)(uintptr_t)k, "worker",
				       CTX_ANY_CPU);
	status = context_spawn(sched_status_main,
			       (void *)(uintptr_t)DEMO_SECONDS, "status",
			       CTX_ANY_CPU);
	if (status > 0)
		context_join(status, NULL);
	demo_on = 0;
	for (unsigned k = 0; k < n; k++)
		if (ids[k] > 0)
			context_join(ids[k], NULL);
	kprintf("demo: done; the picture stays on the screen\n");
	return 0;
}

void sched_demo(void)
{
	context_run_here(demo_main, NULL, "demo", NULL);
}
