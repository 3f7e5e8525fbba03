## # gdb/frames.py: the `frames` command
##
## Loaded by `make gdb` (tools/gdb-session sources every `gdb/*.py` of
## the chapter) and by the scripted gdb tests. Stop anywhere after
## `frame_setup_low()`, for example at `frame_setup_high`, and type
## `frames` for the totals, the free blocks of each order and the
## largest; `frames 0` for the first 8 free blocks of order 0; `frames 9
## 20` for the first 20 of order 9:
##
## <!-- gdb-session frames-py -->
## ```text
## $ make gdb
## (gdb) break frame_setup_high
## (gdb) continue
## (gdb) frames
## frames: ... managed, ... free, ... used (... managed)
## ...
## (gdb) frames 0
## order 0: ... free blocks of 4 KiB; the first ...:
## ...
## (gdb) frames 9 20
## order 9: ... free blocks of 2 MiB; the first ...:
## ...
## ```
##
## Everything it prints comes from the variable `frame_pool` of
## kernel/frame.c and from the state table it points at, so it works
## the same on the host test program (`gdb build/host/test_frame`). The
## summary adds up the blocks of all orders and prints a WARNING if they
## disagree with the free count: the allocator's state would then be
## damaged.
##
## Listing the blocks of one order follows the free list through the
## table: `frame_pool.head[order]` is the first block's frame number,
## and each block's entry `frame_pool.info[frame]` holds the next one.
## The free frames themselves are never read (frame.c keeps nothing in
## them), so this works before vm_init() too. Each entry is checked as
## the host tests check it: it must be the first frame of a free block
## of that order, aligned to its size, and link back to the block
## before it; the listing stops at the first entry that is not.

import gdb

NO_FRAME = 0xFFFFFFFF               # as in frame.c: the end of a list
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


class Frames(gdb.Command):
    """The frame allocator's state: frames [ORDER [COUNT]]

Without arguments: frames managed, free and used, the free blocks of
each order, and the largest free block. With ORDER: the first COUNT
(default 8) free blocks of that order, following the links in the
state table."""

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
        info, nframes = pool["info"], int(pool["nframes"])
        free_head = int(gdb.parse_and_eval("FRAME_FREE_HEAD"))
        frame, prev = int(pool["head"][order]), NO_FRAME
        for _ in range(count):
            if frame == NO_FRAME:
                break
            phys = frame << FRAME_SHIFT
            if frame >= nframes:
                print("  DAMAGED: link to frame 0x%x, beyond the table"
                      % frame)
                return
            entry = info[frame]
            if int(entry["kind"]) != free_head or \
                    int(entry["frames"]) != 1 << order or \
                    frame % (1 << order) != 0 or \
                    int(entry["prev"]) != prev:
                print("  0x%x  DAMAGED: kind %d, %d frames, prev 0x%x"
                      % (phys, int(entry["kind"]), int(entry["frames"]),
                         int(entry["prev"])))
                return
            print("  0x%x-0x%x" % (phys, phys + (4096 << order)))
            frame, prev = int(entry["next"]), frame


Frames()
