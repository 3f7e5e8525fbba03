## # book/lib/weasy.py: import WeasyPrint without its library search
##
##     from weasy import weasyprint
##
## WeasyPrint opens Pango, HarfBuzz, fontconfig and GObject through cffi,
## trying a list of names for each library; the first names of each list
## ("pango-1.0-0", "gobject-2.0") are not file names, and for every one of
## them cffi calls ctypes.util.find_library, which runs ldconfig, then gcc
## and ld, in subprocesses: 60 programs and about 0.9 CPU-seconds per
## import, paid by every render (book/lib/render) and the join
## (book/lib/assemble). Each list also has the Debian file name
## ("libpango-1.0.so.0"), which dlopen finds at once; so while WeasyPrint
## is imported, find_library answers "not found" without running
## anything, and cffi goes on to the file name. If that fails on some
## other system, WeasyPrint is imported again the usual way.
##
## First, when the environment names it (BOOK_PYARENA, set by the book's
## Makefile), Python's memory for its frame stack is taken from
## book/lib/pyarena.c, which keeps the stack's blocks instead of unmapping
## each as soon as a call returns (that file says why it matters).
import ctypes
import ctypes.util
import os
import sys

_arena = os.environ.get("BOOK_PYARENA")
if _arena and os.path.exists(_arena):
    ctypes.CDLL(_arena).pyarena_install()

_find_library = ctypes.util.find_library
ctypes.util.find_library = lambda name: None
try:
    import weasyprint
except (OSError, ImportError):
    for m in [m for m in sys.modules if m == "weasyprint" or m.startswith("weasyprint.")]:
        del sys.modules[m]
    ctypes.util.find_library = _find_library
    import weasyprint  # noqa: F811
finally:
    ctypes.util.find_library = _find_library

__all__ = ["weasyprint"]
