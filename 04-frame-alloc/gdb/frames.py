## # gdb/frames.py: the `frames` command
##
## Loaded by `make gdb` (tools/gdb-session sources every `gdb/*.py` of
## the chapter) and by the scripted gdb tests. Stop anywhere after
## `frame_setup_low()` and type:
##
##     (gdb) frames            totals, free blocks of each order, largest
##     (gdb) frames 0          the first 8 free blocks of order 0
##     (gdb) frames 9 20       the first 20 free blocks of order 9
##
## The summary reads only the variable `frame_pool` of kernel/frame.c,
## so it also works on the host test program (`gdb
## build/host/test_frame`). It adds up the blocks of all orders and
## prints a WARNING if they disagree with the free count: the
## allocator's state would then be damaged.
##
## Listing the blocks of one order follows the free list through the
## free frames themselves: each block's first bytes hold a `struct
## free_node` (next, prev, check), which the command reads through the
## kernel's direct map, at KERNEL_WINDOW + physical address. It checks
## each node's check word as frame.c does, and says when a node has been
## overwritten. This works in the kernel only, and for memory above
## 1 GiB only after vm_init() has built the direct map.

import gdb

KERNEL_WINDOW = 0xFFFFFF0000000000
NO_FRAME = 0xFFFFFFFFFFFFFFFF
NODE_CHECK = 0x6672656562756464     # "freebudd", as in frame.c
FRAME_SHIFT = 12


def _size(frames):
    """A number of 4 KiB frames, in the largest unit that fits."""
    kib = frames * 4
    for unit, div in (("GiB", 1 << 20), ("MiB", 1 << 10)):
        if kib >= div:
            if kib % div == 0:
                return "%d %s" % (kib // div, unit)
            return "%.1f %s" % (kib / div, unit)
    return "%d KiB" % kib


def _read_u64(addr):
    mem = gdb.selected_inferior().read_memory(addr, 8)
    return int.from_bytes(bytes(mem), "little")


class Frames(gdb.Command):
    """The frame allocator's state: frames [ORDER [COUNT]]

Without arguments: frames managed, free and used, the free blocks of
each order, and the largest free block. With ORDER: the first COUNT
(default 8) free blocks of that order, read from their free-list nodes."""

    def __init__(self):
        super().__init__("frames", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        pool = gdb.parse_and_eval("frame_pool")
        if int(pool["info"]) == 0:
            print("frames: frame_init() has not run yet")
            return
        argv = gdb.string_to_argv(arg)
        if argv:
            count = int(gdb.parse_and_eval(argv[1])) if len(argv) > 1 \
                else 8
            self.blocks(pool, int(gdb.parse_and_eval(argv[0])), count)
        else:
            self.summary(pool)

    def summary(self, pool):
        total, free = int(pool["total"]), int(pool["free"])
        table = int(pool["meta_base"])
        print("frames: %d managed, %d free, %d used (%s managed)"
              % (total, free, total - free, _size(total)))
        print("table: %s at 0x%x, covering frames below 0x%x"
              % (_size((int(pool["meta_end"]) - table) >> FRAME_SHIFT),
                 table, int(pool["nframes"]) << FRAME_SHIFT))
        print("order  block      free blocks   free frames")
        orders = pool["blocks"].type.range()[1] + 1
        counted, largest = 0, None
        for k in range(orders):
            n = int(pool["blocks"][k])
            counted += n << k
            if n:
                largest = k
            print("%5d  %-8s %13d  %12d" % (k, _size(1 << k), n, n << k))
        if largest is None:
            print("largest free block: none (no free memory)")
        else:
            print("largest free block: order %d, %d frames (%s)"
                  % (largest, 1 << largest, _size(1 << largest)))
        if counted != free:
            print("WARNING: the blocks add up to %d frames, not %d"
                  % (counted, free))

    def blocks(self, pool, order, count):
        orders = pool["blocks"].type.range()[1] + 1
        if not 0 <= order < orders:
            raise gdb.GdbError("frames: order must be 0 to %d"
                               % (orders - 1))
        n = int(pool["blocks"][order])
        print("order %d: %d free blocks of %s; the first %d:"
              % (order, n, _size(1 << order), min(n, count)))
        frame = int(pool["head"][order])
        for _ in range(count):
            if frame == NO_FRAME:
                break
            phys = frame << FRAME_SHIFT
            try:
                node = KERNEL_WINDOW + phys
                nxt, check = _read_u64(node), _read_u64(node + 16)
            except gdb.MemoryError:
                print("  0x%x: not mapped (before vm_init?)" % phys)
                return
            damaged = "" if check == NODE_CHECK ^ frame else \
                "  DAMAGED: check word 0x%x" % check
            print("  0x%x-0x%x%s" % (phys, phys + (4096 << order),
                                     damaged))
            if damaged:
                return
            frame = nxt


Frames()
