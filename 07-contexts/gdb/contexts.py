## # gdb/contexts.py: the `contexts` and `ctxbt` commands
##
## Loaded by `make gdb` (tools/gdb-session sources every `gdb/*.py` of
## the chapter). Stop anywhere after the boot CPU's context_setup_cpu()
## and type:
##
##     (gdb) contexts          every context: id, name, state, CPU, and
##                             where it will go on (its saved RIP)
##     (gdb) ctxbt ID          the backtrace of context ID, which is not
##                             running, from its saved registers
##
## A context that is not running left everything gdb needs in its
## struct: RSP, and at RSP the return address of its call of
## switch_to(), and RBP, the head of its chain of frame pointers (the
## kernel is built with -fno-omit-frame-pointer). So `ctxbt` walks that
## chain, as gdb itself would on a running CPU: each frame's saved RBP
## at [RBP], its return address at [RBP + 8], until a zero, which
## context_start and the boot code put at the bottom of every stack. A
## context that has never run shows context_start: its first switch
## goes there.
##
## Everything is read from context.c's table `all_contexts`, so the
## commands work the same on the host test program (`make gdbtest`
## runs them on `build/host/test_context`, stopped with contexts in
## every state).

import gdb

# Every gdb/*.py shares one namespace (gdb sources them all), so the
# names here carry a CTX_ or _ctx_ prefix: cpus.py has its own STATES.

CTX_STATES = ["new", "runnable", "running", "blocked", "exited"]
CTX_CHUNK_SLOTS = 256
CTX_CHUNKS = 256
CTX_LIVE = 1 << 20
CTX_GEN_SHIFT = 21
CTX_INDEX_BITS = 16
CTX_MAX_FRAMES = 64


def _ctx_where(pc):
    """A code address as function+0xoffset, as the kernel prints it."""
    if pc == 0:
        return "0"
    try:
        block = gdb.block_for_pc(pc)
        while block is not None and block.function is None:
            block = block.superblock
        if block is not None:
            start = int(block.function.value().address)
            return "%s+0x%x" % (block.function.name, pc - start)
    except RuntimeError:
        pass
    try:                    # assembly: no block, but a symbol
        out = gdb.execute("info symbol 0x%x" % pc, to_string=True)
        if " in section " in out:
            name = out.split(" in section ")[0].strip()
            return name.replace(" + ", "+0x") if "+" in name else name
    except gdb.error:
        pass
    return "0x%x" % pc


def _ctx_u64(addr):
    ptr = gdb.lookup_type("unsigned long").pointer()
    return int(gdb.Value(addr).cast(ptr).dereference())


def _ctx_all():
    """Every live context: (id, struct context value), by slot."""
    table = gdb.parse_and_eval("all_contexts")
    ctx_ptr = gdb.lookup_type("struct context").pointer()
    found = []
    for n in range(CTX_CHUNKS):
        chunk = table["chunk"][n]
        if int(chunk) == 0:
            continue
        for i in range(CTX_CHUNK_SLOTS):
            slot = chunk[i]
            word = int(slot["word"])
            if not word & CTX_LIVE or (n == 0 and i == 0):
                continue
            index = n * CTX_CHUNK_SLOTS + i
            cid = (word >> CTX_GEN_SHIFT) << CTX_INDEX_BITS | index
            found.append((cid, slot["ptr"].cast(ctx_ptr).dereference()))
    return found


def _ctx_saved_rip(c):
    return _ctx_u64(int(c["rsp"]))


class Contexts(gdb.Command):
    """Every context: contexts

One line per context: its id, name, state, the CPU it belongs to, and
its saved RIP (where it goes on when it next runs) as function+offset.
A running context's saved registers are stale: its CPU has the real
ones (`info threads`, one thread per CPU in QEMU)."""

    def __init__(self):
        super().__init__("contexts", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        try:
            found = _ctx_all()
        except gdb.error as e:
            print("contexts: no context table here (%s)" % e)
            return
        if not found:
            print("contexts: none yet (context_setup_cpu() has not run)")
            return
        print("%8s  %-20s %-9s %3s  %s" % ("id", "name", "state", "CPU",
                                           "saved RIP"))
        for cid, c in found:
            state = int(c["state"])
            name = c["name"].string()
            where = ("(on the CPU)" if state == 2
                     else _ctx_where(_ctx_saved_rip(c)))
            print("%8d  %-20s %-9s %3d  %s" % (
                cid, name, CTX_STATES[state] if 0 <= state < 5 else "bad",
                int(c["cpu"]), where))


class CtxBt(gdb.Command):
    """Backtrace of a context that is not running: ctxbt ID

Walks the chain of frame pointers from the context's saved RSP and RBP:
frame 0 is where switch_to() will return to, then each caller."""

    def __init__(self):
        super().__init__("ctxbt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            print("usage: ctxbt ID (the ids are in `contexts`)")
            return
        want = int(gdb.parse_and_eval(arg))
        match = [c for cid, c in _ctx_all() if cid == want]
        if not match:
            print("ctxbt: no context %d" % want)
            return
        c = match[0]
        if int(c["state"]) == 2:
            print("ctxbt: context %d is running on CPU %d: its registers "
                  "are the CPU's; use `thread` and `bt`" %
                  (want, int(c["cpu"])))
            return
        pc, rbp = _ctx_saved_rip(c), int(c["rbp"])
        bottom, top = int(c["kstack"]["bottom"]), int(c["kstack"]["top"])
        for n in range(CTX_MAX_FRAMES):
            print("#%-2d %s" % (n, _ctx_where(pc)))
            if rbp == 0 or not bottom <= rbp < top:
                break
            pc, rbp = _ctx_u64(rbp + 8), _ctx_u64(rbp)
            if pc == 0:
                break


Contexts()
CtxBt()
