/*
 * report.c: the report printed for an exception that nobody handles:
 * what happened, in words, where, with which registers, and how the
 * kernel got there. Then the machine stops.
 */
#include "trap.h"
#include "context.h"
#include "gdt.h"
#include "kprintf.h"
#include "ksyms.h"
#include "kstack.h"
#include "paging.h"
#include "panic.h"
#include "percpu.h"
#include "vm.h"
#include "x86.h"

/**
 * ## Reading an exception report
 *
 * A report has five parts, each printed by one function below:
 *
 * 1. The vector by its mnemonic and name, e.g. `#PF page fault`, and
 *    the error code, both as a number and in words.
 * 2. For a page fault: the faulting address from CR2, and what each
 *    level of the current page tables says about it. That answers "was
 *    the page missing, or was it there with the wrong permissions?"
 *    without a debugger. For a double fault, CR2 too: a double fault
 *    is usually a page fault that could not be delivered, because
 *    pushing its frame faulted again, and CR2 then names the page the
 *    stack ran into, typically the guard page below a kernel stack.
 * 3. Where: RIP as function+offset, the stack pointer, whether the
 *    handler is running on one of the IST stacks, and on which CPU.
 * 4. All general registers, CR0, CR2, CR3 and CR4, as the CPU had them.
 * 5. A backtrace: the chain of saved frame pointers. The kernel is
 *    built with `-fno-omit-frame-pointer`, so each function's frame
 *    begins with the caller's RBP and, above it, the return address.
 *    Every frame pointer is checked against the page tables before it
 *    is followed, so a corrupt stack ends the backtrace, not the report.
 */
static const char *const names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
	"#OF overflow", "#BR bound range exceeded", "#UD invalid opcode",
	"#NM device not available", "#DF double fault",
	"coprocessor segment overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack-segment fault",
	"#GP general protection", "#PF page fault", "reserved (15)",
	"#MF x87 floating-point error", "#AC alignment check",
	"#MC machine check", "#XM SIMD floating-point exception",
	"#VE virtualization exception", "#CP control protection",
	"reserved (22)", "reserved (23)", "reserved (24)", "reserved (25)",
	"reserved (26)", "reserved (27)", "#HV hypervisor injection",
	"#VC VMM communication", "#SX security exception", "reserved (31)",
};

/* Page-fault error code bits (Intel SDM vol. 3, "Page-Fault Exceptions"). */
#define PF_P (1u << 0)      /* 0: page not present; 1: protection */
#define PF_W (1u << 1)      /* 0: read; 1: write */
#define PF_U (1u << 2)      /* 0: supervisor; 1: user mode */
#define PF_RSVD (1u << 3)   /* a reserved bit was set in an entry */
#define PF_I (1u << 4)      /* instruction fetch */
#define PF_PK (1u << 5)     /* protection-key violation */
#define PF_SS (1u << 6)     /* shadow-stack access */

/**
 * ### Error codes and page walks, in words
 *
 * A page fault's error code is a set of bits (the `PF_` names above):
 * present or not, read or write, user or supervisor. The segment
 * exceptions' error code names a descriptor instead: the table in bits
 * 1-2, the index from bit 3. explain_walk() then reads the page tables
 * the CPU used, level by level, for the address in CR2, and prints each
 * entry with its flags, so the report shows at which level the walk
 * stopped.
 */
static void explain_page_fault(uint64_t err)
{
	const char *access = err & PF_I ? "instruction fetch"
			     : err & PF_W ? "write" : "read";

	kprintf("  error code: %s, %s, %s mode%s%s%s\n",
		err & PF_P ? "protection violation" : "page not present",
		access,
		err & PF_U ? "user" : "supervisor",
		err & PF_RSVD ? ", reserved bit set" : "",
		err & PF_PK ? ", protection key" : "",
		err & PF_SS ? ", shadow stack" : "");
}

/* #TS, #NP, #SS, #GP: the error code names a selector (or is 0). */
static void explain_selector_error(uint64_t err)
{
	static const char *const table[4] = { "GDT", "IDT", "LDT", "IDT" };

	if (err == 0) {
		kprintf("  error code: 0 (no selector involved)\n");
		return;
	}
	kprintf("  error code: %s entry %lu%s\n", table[(err >> 1) & 3],
		(unsigned long)(err >> 3),
		err & 1 ? ", during an external event" : "");
}

static void explain_walk(uint64_t addr)
{
	static const char *const level[4] = { "PML4", "PDPT", "PD", "PT" };
	struct page_walk w;
	char flags[PTE_FLAGS_STR_LEN];

	page_walk(read_cr3() & PTE_ADDR, addr, &w);
	if (w.levels == 0) {
		kprintf("  %016lx is not a canonical address\n",
			(unsigned long)addr);
		return;
	}
	kprintf("  the page tables (CR3 %lx) say about %016lx:\n",
		(unsigned long)(read_cr3() & PTE_ADDR), (unsigned long)addr);
	for (int i = 0; i < w.levels; i++) {
		int index = (int)(addr >> (39 - 9 * i)) & 511;

		kprintf("    %-4s[%3d] = %016lx  %s\n", level[i], index,
			(unsigned long)w.entry[i],
			pte_flags_str(w.entry[i], flags, sizeof flags));
	}
	if (!(w.entry[w.levels - 1] & PTE_P))
		kprintf("    -> not present at this level\n");
}

/**
 * ### The backtrace
 *
 * Each stack frame starts with two words: the caller's saved RBP, which
 * points at the caller's frame, and above it the return address. So the
 * chain of saved RBPs leads from the faulting function up to
 * `kernel_entry`, whose RBP is 0. Before following a frame pointer the
 * code checks that it is aligned and that both words are mapped: a
 * corrupt stack ends the backtrace, not the report. The check reads
 * the tables with page_walk(), which takes no lock (from chapter 06 on
 * the mapper has one, and a fault inside the mapper is reported by the
 * CPU that holds it).
 */
/* Is the page holding va present? */
static int word_mapped(uint64_t va)
{
	struct page_walk w;

	page_walk(read_cr3() & PTE_ADDR, va, &w);   /* takes no lock */
	return w.levels > 0 && (w.entry[w.levels - 1] & PTE_P);
}

/* A frame pointer we may follow: 8-byte aligned, and both words of the
 * frame on a present page. */
static int frame_readable(uint64_t fp)
{
	return fp && !(fp & 7) && word_mapped(fp) && word_mapped(fp + 8);
}

static void backtrace(const struct trap_frame *f)
{
	char sym[64];
	uint64_t fp = f->rbp;

	extern char __text_start[], __text_end[];
	int depth = 1;

	kprintf("  backtrace:\n");
	kprintf("    #0  %s\n", ksym_format(f->rip, sym, sizeof sym));
	/* RIP outside the kernel's code usually means a call through a bad
	 * pointer, which faulted on its first instruction: the caller's
	 * return address is then the top word of the stack. */
	if ((f->rip < (uint64_t)__text_start || f->rip >= (uint64_t)__text_end)
	    && frame_readable(f->rsp)) {
		ksym_format(*(uint64_t *)f->rsp - 1, sym, sizeof sym);
		kprintf("    #1  %s (return address on the stack)\n", sym);
		depth = 2;
	}
	for (; depth < 16 && frame_readable(fp); depth++) {
		uint64_t ret = ((uint64_t *)fp)[1];

		if (ret == 0)
			break;
		/* ret is the instruction after the call; ret - 1 is inside
		 * the call, so the lookup names the caller correctly even
		 * when the call is a function's last instruction. */
		ksym_format(ret - 1, sym, sizeof sym);
		kprintf("    #%-2d %s\n", depth, sym);
		fp = ((uint64_t *)fp)[0];
	}
}

static void registers(const struct trap_frame *f)
{
	kprintf("  rax %016lx rbx %016lx rcx %016lx\n", f->rax, f->rbx,
		f->rcx);
	kprintf("  rdx %016lx rsi %016lx rdi %016lx\n", f->rdx, f->rsi,
		f->rdi);
	kprintf("  rbp %016lx rsp %016lx r8  %016lx\n", f->rbp, f->rsp,
		f->r8);
	kprintf("  r9  %016lx r10 %016lx r11 %016lx\n", f->r9, f->r10,
		f->r11);
	kprintf("  r12 %016lx r13 %016lx r14 %016lx\n", f->r12, f->r13,
		f->r14);
	kprintf("  r15 %016lx rflags %08lx cs %02lx ss %02lx\n", f->r15,
		f->rflags, f->cs, f->ss);
	kprintf("  cr0 %08lx cr2 %016lx cr3 %016lx cr4 %08lx\n",
		(unsigned long)read_cr0(), (unsigned long)read_cr2(),
		(unsigned long)read_cr3(), (unsigned long)read_cr4());
}

/* For #DF: where the page fault that could not be delivered pointed.
 * From chapter 07 on, a thread's stack is named by its context: the
 * guard page below it is "the guard page below the stack of context 5
 * 'worker' (CPU 1)". A CPU's own stacks keep kstack.c's names. */
static void explain_cr2(void)
{
	uint64_t cr2 = read_cr2();
	char buf[128];
	const char *what = context_describe_addr(cr2, buf, sizeof buf);

	if (!what)
		what = kstack_describe(cr2, buf, sizeof buf);

	if (!what)
		what = vm_region_name(cr2);
	kprintf("  cr2 %016lx: %s\n", (unsigned long)cr2,
		what ? what : "outside the kernel's regions");
}

_Noreturn void trap_report(const struct trap_frame *f)
{
	static int reporting;
	char sym[64];
	uint64_t here = (uint64_t)__builtin_frame_address(0);
	unsigned stopped = panic_begin();     /* the other CPUs stop */
	struct cpu *c = this_cpu();
	int ist = ist_of_stack(c->tables, here);

	if (reporting++) {
		kprintf("\nEXCEPTION %lu while reporting an exception\n",
			(unsigned long)f->vector);
		qemu_exit(false);
	}
	kprintf("\nEXCEPTION %lu: %s, error code 0x%lx\n",
		(unsigned long)f->vector,
		f->vector < 32 ? names[f->vector] : trap_vector_name(f->vector),
		(unsigned long)f->error);
	if (f->vector == T_PAGE_FAULT) {
		uint64_t cr2 = read_cr2();

		kprintf("  page fault at address %016lx\n", (unsigned long)cr2);
		explain_page_fault(f->error);
		explain_walk(cr2);
	} else if (f->vector >= 10 && f->vector <= 13) {
		explain_selector_error(f->error);
	} else if (f->vector == T_DOUBLE_FAULT) {
		explain_cr2();
	}
	kprintf("  at %s (rip %016lx)\n", ksym_format(f->rip, sym, sizeof sym),
		(unsigned long)f->rip);
	/* For #DF the manual calls the saved CS:RIP undefined: it may or
	 * may not point at the instruction that caused the first fault. */
	if (f->vector == T_DOUBLE_FAULT)
		kprintf("  (a double fault's saved rip is not reliable)\n");
	if (ist)
		kprintf("  handler running on IST%d stack %016lx-%016lx\n", ist,
			(unsigned long)c->tables->ist_bottom[ist],
			(unsigned long)c->tables->ist_top[ist]);
	kprintf("  on CPU %u (APIC id %u), GS base %016lx", c->index,
		c->apic_id, (unsigned long)rdmsr(MSR_IA32_GS_BASE));
	if (cpu_count() > 1)
		kprintf("; %u other CPU%s stopped", stopped,
			stopped == 1 ? "" : "s");
	kprintf("\n");
	if (c->ctx)
		kprintf("  in context %ld '%s'\n", context_current()->id,
			context_current()->name);
	registers(f);
	backtrace(f);
	kprintf("halting\n");
	qemu_exit(false);
}
