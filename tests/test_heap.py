"""The C heap's freed pages go back to the system after a bank load (inspectd/heap.py)."""

import platform

from inspectd.heap import release_freed_heap


def test_release_freed_heap_trims_where_the_c_library_can():
    on_glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert release_freed_heap() is on_glibc
