## # gdb/sched.py: chapter 08's gdb command `runqueues`
##
## Loaded by `make gdb` with the other helpers of gdb/. For each CPU
## with a run queue: the context running there (its id and name, or
## the idle context), the contexts queued behind it in order, the
## sleepers, and the CPU's figures: idle time, switches, ticks,
## preemptions, steals. It reads the kernel's own variables
## (`runqueues`, `n_cpus` in sched.c); nothing in the kernel changes.
import gdb


def _rq_ctx(se_ptr):
    """The struct context holding sched_entity *se_ptr."""
    ctx_t = gdb.lookup_type("struct context")
    off = [f.bitpos // 8 for f in ctx_t.fields() if f.name == "se"][0]
    addr = int(se_ptr) - off
    return gdb.Value(addr).cast(ctx_t.pointer()).dereference()


def _rq_name(se_ptr):
    if int(se_ptr) == 0:
        return "-"
    c = _rq_ctx(se_ptr)
    return "%d '%s'" % (int(c["id"]), c["name"].string())


def _rq_queue(rq):
    """The queued contexts of a run queue, oldest first."""
    se_t = gdb.lookup_type("struct sched_entity")
    head = int(rq["queue"].address)
    link = rq["queue"]["next"]
    out = []
    while int(link) != head and len(out) < 1000:
        out.append(gdb.Value(int(link)).cast(se_t.pointer()))
        link = link.dereference()["next"]
    return out


class RunQueues(gdb.Command):
    """Every CPU's run queue: runqueues

Per CPU: the running context, the queue behind it (oldest first), the
sleeping contexts, and its figures since boot: idle time, context
switches, timer ticks (`slow tick` if it ticks at SCHED_IDLE_HZ, idle
with nothing to do), preemptions (slices that ran out with others
waiting) and steals (contexts it took from other CPUs)."""

    def __init__(self):
        super().__init__("runqueues", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        try:
            n = int(gdb.parse_and_eval("n_cpus"))
            table = gdb.parse_and_eval("runqueues")
        except gdb.error as e:
            print("runqueues: no scheduler here (%s)" % e)
            return
        if n == 0:
            print("runqueues: none yet (sched_setup_cpu() has not run)")
            return
        for i in range(n):
            p = table[i]
            if int(p) == 0:
                continue
            rq = p.dereference()
            st = rq["st"]
            curr = rq["curr"]
            running = ("idle" if int(curr) == int(rq["idle"])
                       else _rq_name(curr))
            print("CPU %d: running %s; %d queued; idle %d ms, %d switches, "
                  "%d ticks%s, %d preemptions, %d steals" % (
                      i, running, int(rq["nr_queued"]),
                      int(st["idle_ns"]) // 1000000, int(st["switches"]),
                      int(st["ticks"]),
                      " (slow tick)" if bool(rq["tick_slow"]) else "",
                      int(st["preemptions"]), int(st["steals"])))
            for se in _rq_queue(rq):
                print("    queued   %s" % _rq_name(se))
            s = rq["sleepers"]
            while int(s) != 0:
                print("    sleeping %s, until %d ms" % (
                    _rq_name(s), int(s.dereference()["wake_at"]) // 1000000))
                s = s.dereference()["sleep_next"]


RunQueues()
