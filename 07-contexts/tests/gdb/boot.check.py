## # Checks for the README's `boot` session (tools/gdb/session.py)
##
## The breakpoints on `*stage2_start` and `*e820_collect` must stop at
## the addresses NASM's listing gives for those labels: the offset of
## the first instruction after the label, plus where the stage is loaded.


def listing_address(lst, label, origin):
    """The address of the first instruction after `label:`."""
    found = False
    for line in open(lst):
        if re.search(r"\s%s:\s*(;.*)?$" % re.escape(label), line):
            found = True
        elif found:
            m = re.match(r"\s*\d+ ([0-9A-F]{8}) [0-9A-F\[]", line)
            if m:
                return origin + int(m.group(1), 16)
    return None


def after(s, cmd, out):
    if cmd != "continue":
        return
    label = ("stage2_start", "e820_collect")[s.seen("continue") - 1]
    want = listing_address("build/stage2.lst", label, 0x7E00)
    pc = int(gdb.parse_and_eval("$pc"))
    s.check("stopped-at-listing-address-of-" + label, want == pc,
            "pc 0x%x, the listing says %s" % (pc, want and hex(want)))
