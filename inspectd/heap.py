"""Hand the C heap's freed pages back to the system after a bank is loaded or replaced.

Building a detector's search index allocates temporaries of several MB (centred rows, cluster
distances) and frees them; glibc keeps such freed pages in its heap once its mmap threshold has
risen past their size, so every bank loaded left about 4-8 MiB of free but resident memory behind
(issue 25: 20.7 MiB per 4-shot bank against 16.5 MiB of arrays). ``malloc_trim`` returns it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None on a C library without it (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    return getattr(ctypes.CDLL(name), "malloc_trim", None)


def release_freed_heap() -> bool:
    """Return freed heap pages to the system; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
