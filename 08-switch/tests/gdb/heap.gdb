## # heap: the gdb command agrees with the heap
##
## Runs to the scenario lookup (the heap is set up, nothing allocated),
## allocates two small objects and a large one by calling kmalloc() in
## the kernel from gdb, and checks what `heap` and `heap ADDR` say
## against the heap's own answers: heap_get_stats(), called in the
## kernel, and the addresses kmalloc() returned. Then it frees one small
## object and checks that `heap ADDR` sees it free. The README's gdb
## session is these same commands, without the one allocation for the
## heap_stats (so this script counts four objects where it has three).
python
import re
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))
end
break ktest_scenario_name
continue
python
out = gdb.execute("heap", to_string=True)
print(out)
check("heap-fresh-reserve", "grew once, shrank 0 times" in out and
      "mapped but free: 1024 KiB (reserve)" in out and
      "in use: 0 bytes in 0 objects" in out, out)
end
set $a = (char *)kmalloc(100)
set $b = (char *)kmalloc(100)
set $c = (char *)kmalloc(10000)
set $s = (struct heap_stats *)kmalloc(sizeof(struct heap_stats))
call heap_get_stats($s)
python
out = gdb.execute("heap", to_string=True)
print(out)
s = gdb.parse_and_eval("*$s")
m = re.search(r"in use: (\d+) bytes in (\d+) objects", out)
check("heap-in-use-matches-kernel", m is not None and
      int(m.group(1)) == int(s["bytes_in_use"]) and
      int(m.group(2)) == int(s["objects"]) == 4, out)
row = re.search(r"^\s+7\s+128\s+32\s+1\s+2\s+30\s+0$", out, re.M)
check("heap-class-128-row", row is not None, out)
check("heap-large-run", "large objects: 1, 3 pages" in out, out)
m = re.search(r"mapped: \d+ KiB: (\d+) pages for objects and reserve, "
              r"(\d+) of descriptors", out)
check("heap-mapped-matches-kernel", m is not None and
      int(m.group(1)) == int(s["data_pages"]) and
      int(m.group(2)) == int(s["desc_pages"]), out)
a = int(gdb.parse_and_eval("$a"))
out = gdb.execute("heap $a", to_string=True)
print(out)
check("heap-addr-live", re.match(
      r"0x%x: byte 0 of slot %d \(0x%x\) of a 128-byte slab page: live, "
      r"100 bytes asked for, allocated by \S+$" % (a, (a % 4096) // 128, a),
      out.strip()) is not None, out)
out = gdb.execute("heap $a + 20", to_string=True)
print(out)
check("heap-addr-interior", ("byte 20 of slot") in out and "live" in out,
      out)
c = int(gdb.parse_and_eval("$c"))
out = gdb.execute("heap $c + 5000", to_string=True)
print(out)
check("heap-addr-large", out.strip().startswith(
      "0x%x: byte 5000 of the large object at 0x%x (3 pages): live, "
      "10000 bytes asked for" % (c + 5000, c)), out)
end
call kfree($b)
python
out = gdb.execute("heap $b", to_string=True)
print(out)
check("heap-addr-freed", re.search(r": free, in the class's cache, "
      r"freed by \S+$", out.strip()) is not None, out)
out = gdb.execute("heap $b + 256", to_string=True)
print(out)
check("heap-addr-never-used", out.strip().endswith("never handed out"),
      out)
out = gdb.execute("heap 0xffffff0000100000", to_string=True)
print(out)
check("heap-addr-outside", "not in the heap window" in out, out)
end
python print("GDBCHECK END")
