## # frames: the gdb command agrees with the allocator
##
## Runs to the scenario lookup (after frame_setup_high and vm_init),
## then checks what `frames` prints against the allocator's own answers:
## frame_free_count() and frame_used_count(), called in the kernel by
## gdb. Then it lists the first free blocks of order 10 and checks that
## each is 4 MiB long and starts at a multiple of 4 MiB, and lists order
## 0 to check that the listing starts where the table's list does and
## finds no damaged entry.
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
check("frames-total", total == free + used, out)
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
