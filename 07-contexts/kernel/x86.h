/*
 * x86.h: one-instruction helpers for what C cannot say by itself: port
 * I/O, control registers, model-specific registers, CPUID, halting.
 *
 * Each helper is a single instruction in inline assembly behind a name,
 * so the rest of the kernel reads as plain C and a reader can look each
 * instruction up in the Intel manual by its mnemonic.
 */
#ifndef X86_H
#define X86_H

#include <stdint.h>

/* Port I/O: the x86 has a second, 64 KiB address space for devices,
 * reached only with the IN and OUT instructions. */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

/* A pause of about a microsecond between two writes to a slow device
 * (an 8259 PIC, say): a write to port 0x80, the POST diagnostic port,
 * which nothing reads, takes one ISA bus cycle. Linux does the same. */
static inline void io_wait(void)
{
	outb(0x80, 0);
}

/* Stop the CPU until the next interrupt. With interrupts off, forever. */
static inline void hlt(void)
{
	__asm__ volatile("hlt");
}

static inline void cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

/* A hint for spin-wait loops (Intel: "improves the performance of
 * spin-wait loops"); harmless anywhere. */
static inline void cpu_relax(void)
{
	__asm__ volatile("pause");
}

static inline uint64_t read_cr0(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr4(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline void write_cr0(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

/* Loading CR3 switches to another set of page tables and flushes every
 * TLB entry that is not global. */
static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

/* LTR: load the task register with a TSS selector (once per CPU: the
 * CPU marks the descriptor busy). */
static inline void ltr(uint16_t selector)
{
	__asm__ volatile("ltr %0" : : "r"(selector) : "memory");
}

/* INVLPG: drop the TLB entry for the page containing va, global or not. */
static inline void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* RDMSR: read the model-specific register ECX into EDX:EAX. */
static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

/* WRMSR: write EDX:EAX to the model-specific register ECX. */
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);

	__asm__ volatile("wrmsr" : : "c"(msr), "a"(lo), "d"(hi) : "memory");
}

/* CPUID: leaf in EAX, subleaf in ECX; results in EAX, EBX, ECX, EDX. */
struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

/* Time-stamp counter: cycles since reset (roughly; see the SDM). */
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Control-register bits this kernel uses (Intel SDM vol. 3, 2.5). */
#define CR0_TS (1ull << 3)   /* task switched: x87/SSE use faults */
#define CR0_WP (1ull << 16)  /* write protect, also for ring 0 */
#define CR4_MCE (1ull << 6)  /* machine checks raise exception 18 */
#define CR4_PGE (1ull << 7)  /* global pages */

/* CPUID leaf 1, ECX bit 31: running under a hypervisor. */
#define CPUID_01_ECX_HYPERVISOR (1u << 31)

#define MSR_IA32_EFER 0xC0000080
#define EFER_NXE (1ull << 11)  /* no-execute enable */

#endif
