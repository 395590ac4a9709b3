"""Give back the resident pages of weights that are read-only views of a safetensors file.

transformers maps model.safetensors into memory and the fp32 weights are views of that mapping:
their pages become resident (and count in the process's memory) once read. The fp16 serving
copy reads every fp32 weight once while it is built and then never again, so after each layer
is packed its source pages are handed back to the kernel (madvise MADV_DONTNEED). The weights
stay valid: the next read (the PEFT model answering while a new copy builds, an adapter merge)
faults them in again from the page cache or the file.

Only ranges inside a mapping of a `.safetensors` file that holds no written (copy-on-write)
page are released; anything else is left alone. Linux only; elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import sys
from collections.abc import Iterable
from pathlib import Path

MADV_DONTNEED = 4
PAGE = mmap.PAGESIZE


class FileMappings:
    """The process's clean mappings of safetensors files, read once from /proc/self/smaps."""

    def __init__(self, smaps: str | None = None):
        self.ranges: list[tuple[int, int]] = []
        if smaps is None:
            if not sys.platform.startswith("linux"):
                return
            try:
                smaps = Path("/proc/self/smaps").read_text()
            except OSError:
                return
        current: tuple[int, int] | None = None
        for line in smaps.splitlines():
            fields = line.split()
            if fields and "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
                current = None
                if len(fields) >= 6 and fields[5].endswith(".safetensors"):
                    start, end = (int(x, 16) for x in fields[0].split("-"))
                    current = (start, end)
            elif current is not None and fields[:1] == ["Anonymous:"]:
                if int(fields[1]) == 0:  # no page of this mapping was ever written
                    self.ranges.append(current)
                current = None

    def covering(self, start: int, end: int) -> bool:
        return any(low <= start and end <= high for low, high in self.ranges)


def _madvise():
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return libc.madvise


def release(tensors: Iterable, mappings: FileMappings) -> int:
    """Drop the resident pages of file-backed `tensors` (whole pages only); returns bytes."""
    if not mappings.ranges:
        return 0
    madvise = _madvise()
    if madvise is None:
        return 0
    released = 0
    for tensor in tensors:
        start = tensor.data_ptr()
        end = start + tensor.numel() * tensor.element_size()
        if not mappings.covering(start, end):
            continue
        low = -(-start // PAGE) * PAGE  # whole pages inside the tensor: neighbours keep theirs
        high = end // PAGE * PAGE
        if high > low and madvise(low, high - low, MADV_DONTNEED) == 0:
            released += high - low
    return released
