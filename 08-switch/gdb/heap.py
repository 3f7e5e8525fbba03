## # gdb/heap.py: the `heap` command
##
## Loaded by `make gdb` (tools/gdb-session sources every `gdb/*.py` of
## the chapter) and by the scripted gdb tests. Stop anywhere after
## `heap_setup()` and type:
##
##     (gdb) heap              the whole heap: memory mapped and in use,
##                             growth and shrink counts, each class
##     (gdb) heap ADDR         what ADDR is: which object it belongs to,
##                             whether that is live, and its size
##
## Everything comes from the variable `heap` of kernel/heap.c and the
## page descriptors it points at, read as heap.c's invariants describe
## them, so it works the same on the host test program (`gdb
## build/host/test_heap`). Whether a slot is live is found the way
## kfree() finds a double free: by looking in its class's cache and
## following its page's free list, each link checked before it is
## followed. When the debug checks are
## on, a live object's trailer says how many bytes were asked for and
## who asked, and a free slot of 32 bytes or more who freed it.

import gdb

PAGE = 4096
NO_PAGE = 0xFFFFFFFF
NO_SLOT = 0xFFFF
TRAILER = 16


def _kib(pages):
    return "%d KiB" % (pages * PAGE // 1024)


def _const(name):
    return int(gdb.parse_and_eval(name))


def _where(pc):
    """A code address as function+0xoffset, as the kernel prints it."""
    try:
        block = gdb.block_for_pc(pc)
        while block is not None and block.function is None:
            block = block.superblock
        if block is not None:
            start = int(block.function.value().address)
            return "%s+0x%x" % (block.function.name, pc - start)
    except RuntimeError:
        pass
    return "0x%x" % pc


class Heap(gdb.Command):
    """The kernel heap: heap [ADDR]

Without an argument: pages mapped (objects, reserve, descriptors),
bytes in use, growth and shrink counts, and for each size class its
pages and slots in use and free; large objects; free runs. With ADDR:
the object ADDR lies in, whether it is live, and its size."""

    def __init__(self):
        super().__init__("heap", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        h = gdb.parse_and_eval("heap")
        if int(h["desc"]) == 0:
            print("heap: heap_init() has not run yet")
            return
        if arg.strip():
            self.address(h, int(gdb.parse_and_eval(arg)) & (2**64 - 1))
        else:
            self.summary(h)

    def summary(self, h):
        top, data = int(h["top"]), int(h["data_pages"])
        descs, reserve = int(h["desc_pages"]), int(h["reserve"])
        print("heap: window 0x%x, extent %s (%d pages), debug checks %s"
              % (int(h["base"]), _kib(top), top,
                 "on" if bool(h["checks"]) else "off"))
        print("mapped: %s: %d pages for objects and reserve, %d of "
              "descriptors" % (_kib(data + descs), data, descs))
        def times(n):
            return "once" if n == 1 else "%d times" % n
        print("grew %s, shrank %s; pages mapped %d, "
              "unmapped %d; failed requests %d"
              % (times(int(h["grows"])), times(int(h["shrinks"])),
                 int(h["pages_mapped"]), int(h["pages_unmapped"]),
                 int(h["failures"])))
        print("class  bytes  per page  pages  in use   free  cached")
        in_use = objects = 0
        for c in range(h["cls"].type.range()[1] + 1):
            k = h["cls"][c]
            size, per = int(k["size"]), int(k["per_page"])
            pages, used = int(k["pages"]), int(k["objects"])
            in_use += used * size
            objects += used
            cached = int(k["cached"])
            if pages:
                print("%5d  %5d  %8d  %5d  %6d  %5d  %6d"
                      % (c, size, per, pages, used,
                         pages * per - used, cached))
        runs, large = int(h["large_runs"]), int(h["large_pages"])
        in_use += large * PAGE
        objects += runs
        print("large objects: %d, %d pages" % (runs, large))
        print("in use: %d bytes in %d objects; mapped but free: %s "
              "(reserve)" % (in_use, objects, _kib(reserve)))
        for name, which in (("reserve", 1), ("unmapped", 0)):
            n, pages = self.runs(h, which)
            print("free runs, %s: %d, %d pages" % (name, n, pages))

    def runs(self, h, which):
        bins = h["bins"][which]
        n = pages = 0
        for b in range(bins["head"].type.range()[1] + 1):
            r, steps = int(bins["head"][b]), 0
            while r != NO_PAGE and steps < 1000000:
                d = h["desc"][r]
                n += 1
                pages += int(d["pages"])
                r = int(d["next"])
                steps += 1
        return n, pages

    def address(self, h, addr):
        base, top = int(h["base"]), int(h["top"])
        window = int(h["window_pages"]) * PAGE
        if not base <= addr < base + window:
            print("0x%x: not in the heap window 0x%x-0x%x"
                  % (addr, base, base + window))
            return
        page = (addr - base) // PAGE
        if page >= top:
            print("0x%x: in the window, above the extent (page %d of %d):"
                  " nothing is mapped there" % (addr, page, top))
            return
        d = h["desc"][page]
        kind = int(d["kind"])
        if kind == _const("PAGE_SLAB"):
            self.slot(h, addr, page, d)
        elif kind in (_const("PAGE_LARGE"), _const("PAGE_LARGE_TAIL")):
            first = page if kind == _const("PAGE_LARGE") else int(d["head"])
            self.large(h, addr, first)
        else:
            what = "reserve: mapped" if kind == _const("PAGE_RESERVE") \
                else "unmapped"
            last = {_const("FREED_LARGE"): "; it began a large object "
                    "that was freed", _const("FREED_SLAB"): "; it held "
                    "small objects, all freed"}.get(int(d["cls"]), "")
            print("0x%x: a free page of the heap (%s)%s"
                  % (addr, what, last))

    def asked(self, h, obj, slot_bytes):
        """(bytes asked for, allocator) from a live object's trailer."""
        t = gdb.parse_and_eval("*(struct trailer *)0x%x"
                               % (obj + slot_bytes - TRAILER))
        return int(t["size"]), _where(int(t["caller"]))

    def freer(self, h, start, size):
        """", freed by X" from a free slot's record, when it has one
        (the debug checks on, 32 bytes or more) and it is intact."""
        if not bool(h["checks"]) or size < 32:
            return ""
        s = gdb.parse_and_eval("*(struct free_slot *)0x%x" % start)
        by = int(s["freed_by"])
        if int(s["freed_check"]) != ~by & 0xFFFFFFFFFFFFFFFF:
            return ", its record of who freed it DAMAGED"
        return ", freed by %s" % _where(by)

    def slot(self, h, addr, page, d):
        cls = h["cls"][int(d["cls"])]
        size, per = int(cls["size"]), int(cls["per_page"])
        off = addr % PAGE
        start = addr - off % size
        index = off // size
        where = "byte %d of slot %d (0x%x) of a %d-byte slab page" \
            % (off % size, index, start, size)
        if index >= per:
            print("0x%x: in the unused tail of a %d-byte slab page"
                  % (addr, size))
            return
        if start % PAGE >= int(d["fresh"]):
            print("0x%x: %s: never handed out" % (addr, where))
            return
        for i in range(int(cls["cached"])):
            if int(cls["cache"][i]) == start:
                print("0x%x: %s: free, in the class's cache%s"
                      % (addr, where, self.freer(h, start, size)))
                return
        o, steps = int(d["free"]), 0
        while o != NO_SLOT and steps < per:
            if o == start % PAGE:
                print("0x%x: %s: free%s"
                      % (addr, where, self.freer(h, start, size)))
                return
            s = gdb.parse_and_eval("*(struct free_slot *)0x%x"
                                   % (addr - off + o))
            nxt = int(s["next"])
            want = ~nxt & 0xFFFFFFFF
            if (nxt != NO_SLOT and (nxt >= int(d["fresh"]) or
                                    nxt % size)) or \
                    int(s["check"]) != want:
                print("0x%x: %s: the page's free list is DAMAGED at "
                      "offset 0x%x" % (addr, where, o))
                return
            o, steps = nxt, steps + 1
        text = "0x%x: %s: live" % (addr, where)
        if bool(h["checks"]):
            n, who = self.asked(h, start, size)
            text += ", %d bytes asked for, allocated by %s" % (n, who)
        print(text)

    def large(self, h, addr, first):
        d = h["desc"][first]
        pages = int(d["pages"])
        start = int(h["base"]) + first * PAGE
        text = "0x%x: byte %d of the large object at 0x%x (%d pages): " \
            "live" % (addr, addr - start, start, pages)
        if bool(h["checks"]):
            n, who = self.asked(h, start, pages * PAGE)
            text += ", %d bytes asked for, allocated by %s" % (n, who)
        print(text)


Heap()
