## # frames: the gdb command agrees with the allocator
##
## Runs to the scenario lookup (after frame_setup_high and vm_init),
## then checks what `frames` prints against the allocator's own answers:
## frame_free_count() and frame_used_count(), called in the kernel by
## gdb. Then it lists the first free blocks of order 10 and checks that
## each is 4 MiB long and starts at a multiple of 4 MiB, and lists order
## 0 to check that the listing starts where the table's list does and
## finds no damaged entry.
##
## The totals are also checked against numbers that do not come from the
## allocator's counters: the frames managed against the sanitised memory
## map (every usable page above LOW_MEMORY_END, less the pages the state
## table itself occupies), and the free frames against a walk of every
## free list through the table's links. `used` then has to be the
## difference of the two.
python
import re
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))
end
break ktest_scenario_name
continue
python
out = gdb.execute("frames", to_string=True)
print(out)
m = re.search(r"frames: (\d+) managed, (\d+) free, (\d+) used", out)
check("frames-totals-printed", m is not None, out)
total, free, used = (int(x) for x in m.groups()) if m else (0, 0, 0)
kfree = int(gdb.parse_and_eval("frame_free_count()"))
kused = int(gdb.parse_and_eval("frame_used_count()"))
check("frames-free-matches-kernel", free == kfree and free > 0,
      "frames says %d, frame_free_count() %d" % (free, kfree))
check("frames-used-matches-kernel", used == kused,
      "frames says %d, frame_used_count() %d" % (used, kused))
E820_USABLE, LOW_MEMORY_END = 1, 0x100000       # e820.h, frame.h
usable = 0
memmap = gdb.parse_and_eval("memmap")
for i in range(int(gdb.parse_and_eval("memmap_count"))):
    e = memmap[i]
    if int(e["type"]) == E820_USABLE:
        lo = max(int(e["base"]), LOW_MEMORY_END)
        usable += max(0, int(e["end"]) - lo) >> 12
pool = gdb.parse_and_eval("frame_pool")
table = (int(pool["meta_end"]) - int(pool["meta_base"])) >> 12
check("frames-total-from-memory-map", total == usable - table,
      "frames says %d managed; the map has %d usable pages, the table %d"
      % (total, usable, table))
walked = 0
for k in range(pool["blocks"].type.range()[1] + 1):
    f, n = int(pool["head"][k]), 0
    while f != 0xFFFFFFFF and n <= int(pool["nframes"]):
        walked += 1 << k
        f, n = int(pool["info"][f]["next"]), n + 1
check("frames-free-from-list-walk", free == walked,
      "frames says %d free; the free lists hold %d" % (free, walked))
check("frames-used-is-the-rest", used == usable - table - walked,
      "frames says %d used, expected %d" % (used, usable - table - walked))
rows = re.findall(r"^\s*(\d+)\s+\d+ [KMG]iB\s+(\d+)\s+(\d+)$", out, re.M)
check("frames-eleven-orders", len(rows) == 11, "%d rows" % len(rows))
check("frames-blocks-add-up",
      sum(int(f) for _, _, f in rows) == kfree and "WARNING" not in out,
      out)
largest = max((int(k) for k, n, _ in rows if int(n) > 0), default=None)
check("frames-largest", largest is not None and
      ("largest free block: order %d, %d frames" % (largest, 1 << largest))
      in out, out)
out = gdb.execute("frames 10 3", to_string=True)
print(out)
blocks = re.findall(r"^  0x([0-9a-f]+)-0x([0-9a-f]+)$", out, re.M)
check("frames-list-order-10", len(blocks) == 3 and all(
      int(e, 16) - int(b, 16) == 4 << 20 and int(b, 16) % (4 << 20) == 0
      for b, e in blocks), out)
out0 = gdb.execute("frames 0 4", to_string=True)
print(out0)
head0 = int(gdb.parse_and_eval("frame_pool.head[0]"))
first = re.search(r"^  0x([0-9a-f]+)-", out0, re.M)
check("frames-list-follows-table", "DAMAGED" not in out + out0 and
      (int(first.group(1), 16) == head0 << 12 if first
       else head0 == 0xFFFFFFFF), out0)
end
python print("GDBCHECK END")
