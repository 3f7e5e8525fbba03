/*
 * book/lib/pyarena.c: a memory source for Python that keeps the blocks
 * of its frame stack, for the renders (book/lib/render, book/lib/assemble)
 *
 * The book's Makefile builds this into work/pyarena.so; book/lib/weasy.py
 * loads it with ctypes and calls pyarena_install() before it imports
 * WeasyPrint.
 *
 * Why: Python 3.11 keeps the frames of running functions on a stack made
 * of 16 KiB blocks. A call that does not fit in the current block gets a
 * new one, from mmap, and when that call returns the block is unmapped at
 * once. WeasyPrint lays a page out by deep recursion, and where a loop of
 * calls (one per word or token of a listing) sits right at the end of a
 * block, every call maps and unmaps 16 KiB: tens of thousands of times a
 * part. On the virtual machines the suite runs on, one mmap, fault and
 * munmap costs about 100 microseconds of system time (a TLB flush through
 * the hypervisor), so a render spent up to half of its time there, more
 * or less by chance: it depends on how deep the loop runs.
 *
 * What: Python gets those blocks (and its 1 MiB object arenas) from one
 * pair of functions, which PyObject_SetArenaAllocator replaces (a public
 * API). These still map and unmap memory, as Python's own do, so blocks
 * Python took before the switch are given back the same way; but up to
 * KEEP freed stack blocks are kept and handed out again instead of being
 * unmapped. The memory kept is at most KEEP * 16 KiB.
 */
#include <stddef.h>
#include <sys/mman.h>

#define STACK_BLOCK (16 * 1024)   /* Python 3.11: DATA_STACK_CHUNK_SIZE */
#define KEEP 64

/* Python's PyObjectArenaAllocator (Include/cpython/objimpl.h) */
struct arena_allocator {
    void *ctx;
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr, size_t size);
};
extern void PyObject_GetArenaAllocator(struct arena_allocator *allocator);
extern void PyObject_SetArenaAllocator(struct arena_allocator *allocator);

/* The freed stack blocks kept for reuse. Python calls the allocator with
   the GIL held (one thread at a time), so there is no lock. */
static void *kept[KEEP];
static int nkept;

static void *arena_alloc(void *ctx, size_t size)
{
    (void)ctx;
    if (size == STACK_BLOCK && nkept > 0)
        return kept[--nkept];
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void arena_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    if (size == STACK_BLOCK && nkept < KEEP) {
        kept[nkept++] = ptr;
        return;
    }
    munmap(ptr, size);
}

static struct arena_allocator allocator = { NULL, arena_alloc, arena_free };

/* Install the allocator (once; a second call changes nothing). */
void pyarena_install(void)
{
    struct arena_allocator now;
    PyObject_GetArenaAllocator(&now);
    if (now.alloc != arena_alloc)
        PyObject_SetArenaAllocator(&allocator);
}
