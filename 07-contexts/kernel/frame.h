/*
 * frame.h: the physical frame allocator, a buddy allocator.
 *
 * Hands out runs of contiguous 4 KiB physical frames and takes them
 * back, merging freed neighbours. Users: the page-table mapper (one
 * frame per table), the kernel stacks, later the heap. frame.c
 * explains the design; tests/host/test_frame.c tests it.
 *
 * Every function may be called from any CPU, with or without the heap
 * or page-table lock held: each takes the allocator's own lock, the
 * last in the lock order (frame.c, "Every CPU at once"). Precondition:
 * frame_init() has run, except where a comment says otherwise.
 */
#ifndef FRAME_H
#define FRAME_H

#include <stdint.h>

#define FRAME_SIZE  4096ull  /* one frame: 4 KiB, aligned to 4 KiB */
#define FRAME_SHIFT 12       /* log2(FRAME_SIZE) */

/* Free memory is kept in blocks of 2^order frames, order 0 up to
 * FRAME_MAX_ORDER (frame.c says why 10). A run longer than
 * FRAME_MAX_RUN frames can never be allocated. */
#define FRAME_MAX_ORDER 10
#define FRAME_MAX_RUN   (1ull << FRAME_MAX_ORDER)  /* 1024: 4 MiB */

/* The kernel gives the allocator no frame below 1 MiB (frame_setup.c
 * says why). */
#define LOW_MEMORY_END 0x100000ull

/*
 * Setting up, once, on the boot CPU (frame.c, "Starting up"):
 *
 * 1. bytes = frame_meta_bytes(max_phys), where max_phys is the end of
 *    the highest range that is or may become usable (frame_setup.c
 *    takes the highest RAM range of any kind);
 * 2. pick a page-aligned place for that many bytes inside a usable
 *    range, reachable through pt_phys_to_virt();
 * 3. frame_init(max_phys, that place);
 * 4. frame_init_range(base, end) for every usable range. The table's
 *    own frames are left out automatically.
 *
 * frame_meta_bytes() may be called before frame_init(). The allocator
 * reads and writes the table and nothing else: never a frame it
 * manages, free or handed out.
 */
uint64_t frame_meta_bytes(uint64_t max_phys);
void frame_init(uint64_t max_phys, uint64_t meta_phys);

/* Add the frames of [base, end) to the free memory. base is rounded
 * up and end down to whole frames. May be called again at any time
 * (for memory that becomes free later, such as boot data). Each frame
 * must lie below max_phys and be added only once. The frames need not
 * be mapped: only the table is ever written. */
void frame_init_range(uint64_t base, uint64_t end);

/* Allocate count contiguous frames (1 <= count <= FRAME_MAX_RUN) and
 * store the physical address of the first in *phys. The run starts at
 * a multiple of its size rounded up to a power of two (a 512-frame run
 * is 2 MiB-aligned). Returns 0, or -1 (and leaves *phys alone) when no
 * such run is free or count is out of range. The frames' contents are
 * whatever was there before. */
int frame_alloc(uint64_t count, uint64_t *phys);

/* Give back a run: phys and count exactly as frame_alloc() gave and
 * was asked. Anything else (a double free, a frame never handed out,
 * a different count) calls frame_panic() and changes nothing, with one
 * gap: a double free is caught only while the frame is still free.
 * Once frame_alloc() has handed it out again, the stale free is
 * accepted and frees the new owner's frame. */
void frame_free(uint64_t phys, uint64_t count);

/* Frames free and frames handed out. Their sum is always the number of
 * frames managed. O(1). */
uint64_t frame_free_count(void);
uint64_t frame_used_count(void);

/* A snapshot, for boot messages and the self-test. (The gdb command
 * `frames` reads the same numbers from frame.c's frame_pool.) */
struct frame_stats {
	uint64_t total;    /* frames managed */
	uint64_t free;     /* frames free */
	uint64_t used;     /* frames handed out */
	uint64_t largest;  /* frames in the largest free block: the
	                      biggest count frame_alloc() can serve now */
	uint64_t blocks[FRAME_MAX_ORDER + 1];  /* free blocks per order */
	uint64_t table_phys;   /* where the state table is (frame.c) */
	uint64_t table_bytes;  /* and its size: frame_meta_bytes() */
};

void frame_get_stats(struct frame_stats *s);

/* Environment hooks, provided by the kernel (vm.c, frame_setup.c) or
 * by the host test and the benchmark. */

/* Where the kernel can read and write physical address phys. The
 * allocator uses it once, in frame_init(), to reach its table. */
void *pt_phys_to_virt(uint64_t phys);

/* Report a misuse of the allocator (a double free, say) and stop. The
 * message names the frame, as in "double free of frame 0x1234000".
 * The kernel panics; the host test jumps back into the test. */
_Noreturn void frame_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* The kernel's start-up (frame_setup.c), in main.c's order: the
 * usable memory below BOOT_MAPPED_BYTES, before vm_init(), which needs
 * table frames it can fill through the boot tables; the rest after it.
 * Boot CPU only, once each. */
void frame_setup_low(void);
void frame_setup_high(void);

#endif /* FRAME_H */
