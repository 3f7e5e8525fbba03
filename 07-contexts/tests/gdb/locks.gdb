## # locks: the gdb command lists the kernel's locks and their counts
##
## Four CPUs run this chapter's self-tests (the stress test among them)
## and stop at ktest_finish(). `locks` must list the kernel's own locks
## (heap, page tables, frames, console, kernel stacks) and the stress
## test's, all free, with the counts the kernel holds: the same numbers
## as the variables themselves, and the stress test's lock taken by
## every CPU.
# qemu: --smp 4 --test cpus
python
import re
def check(name, ok, why=""):
    print("GDBCHECK %s %s%s" % ("PASS" if ok else "FAIL", name,
                                "" if ok else ": " + why))
end
break ktest_finish
continue
python
out = gdb.execute("locks", to_string=True)
print(out)
names = re.findall(r"^(\S.*?) +(free|held by .*)$", out, re.M)
got = dict(names)
for want in ("heap", "page tables", "frames", "console", "kernel stacks",
             "stress counter"):
    check("locks-lists-" + want.replace(" ", "-"), got.get(want) == "free",
          str(names))
m = re.search(r"^stress counter .*\n +(\d+) acquired, (\d+) contended",
              out, re.M)
n = int(gdb.parse_and_eval("'stress_tests.c'::stress_lock.acquired"))
check("locks-counts-match", m is not None and int(m.group(1)) == n,
      "%s vs %d" % (m.groups() if m else None, n))
f = re.search(r"^frames .*\n +(\d+) acquired", out, re.M)
nf = int(gdb.parse_and_eval("'frame.c'::frame_pool.lock.acquired"))
check("locks-frames-count", f is not None and int(f.group(1)) == nf,
      "%s vs %d" % (f.groups() if f else None, nf))
end
python print("GDBCHECK END")
