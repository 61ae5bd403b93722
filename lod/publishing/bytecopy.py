"""Writing a file as new text spliced with byte ranges of another file, copied in the kernel.

The dumps (``lod.publishing.dumps``) are rewritten this way: the subjects that did not change are
copied from the previous dump without passing through Python.
"""

from __future__ import annotations

import errno
import os

FILE_BUFFER = 1 << 20  # for large files: fewer write calls

_BUFFER = 1 << 20  # bytes of new text a splice gathers before writing them
_SMALL = 1 << 16  # old ranges shorter than this are read into the output buffer rather than copied by the kernel
_kernel_copy = hasattr(os, "copy_file_range")


def copy_range(src: int, dst: int, start: int, length: int) -> None:
    """Append *length* bytes of *src* from offset *start* at *dst*'s position: in the kernel
    (``copy_file_range``, no bytes through Python) where it can, else in large reads."""
    global _kernel_copy
    while length > 0:
        n = 0
        if _kernel_copy:
            try:
                n = os.copy_file_range(src, dst, min(length, 1 << 30), start)
            except OSError as exc:  # another file system, an old kernel, a file system without it
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                    raise
                _kernel_copy = False
                continue
        else:
            data = os.pread(src, min(length, FILE_BUFFER), start)
            view = memoryview(data)
            while view:
                view = view[os.write(dst, view):]
            n = len(data)
        if n <= 0:
            raise ValueError("the previous dump is shorter than its index says")
        start += n
        length -= n


class Out:
    """A file being spliced: new text buffered, long unchanged ranges of another file copied by the kernel."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()
        self.size = 0  # bytes written, the buffer's included

    def write(self, data: bytes) -> None:
        self.buf += data
        self.size += len(data)
        if len(self.buf) >= _BUFFER:
            self.flush()

    def copy(self, src: int, start: int, length: int) -> None:
        if length < _SMALL:
            data = os.pread(src, length, start)
            if len(data) != length:
                raise ValueError("the previous dump is shorter than its index says")
            self.write(data)
            return
        self.flush()
        copy_range(src, self.fd, start, length)
        self.size += length

    def cut(self, n: int) -> None:
        """Drop the last *n* bytes written."""
        if n > len(self.buf):
            self.flush()
            os.ftruncate(self.fd, self.size - n)
            os.lseek(self.fd, self.size - n, os.SEEK_SET)
        else:
            del self.buf[len(self.buf) - n:]
        self.size -= n

    def flush(self) -> None:
        view = memoryview(self.buf)
        while view:
            view = view[os.write(self.fd, view):]
        self.buf = bytearray()
