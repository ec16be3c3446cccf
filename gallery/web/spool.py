"""Uploaded files spooled to disk: one temporary file per request, whatever the number of files.

Werkzeug's default keeps each uploaded file under 500 KB in memory and gives
each larger one its own temporary file: a folder of 3,000 small DICOM files
would sit in memory whole, and 3,000 large ones would need 3,000 open files.
Here every file part of a request is written, one after the other, into a
single anonymous temporary file; each part is a read-only view of its slice.
Memory stays flat, one file descriptor serves the whole request, and views can
be read from several threads at once (positional reads).
"""

from __future__ import annotations

import errno
import io
import os
import tempfile
from typing import IO

from flask import Request, current_app


class Spool:
    """One temporary file that parts are appended to, strictly one part after another."""

    def __init__(self, directory: str | None = None) -> None:
        # Anonymous (unlinked at once): nothing is left on disk even if the process is killed.
        self.file = tempfile.TemporaryFile(dir=directory or None)  # noqa: SIM115 - closed by SpoolingRequest.close
        self.fd = self.file.fileno()
        self.end = 0

    def new_part(self) -> SpooledPart:
        return SpooledPart(self, self.end)

    def append(self, data: bytes) -> None:
        os.pwrite(self.fd, data, self.end)
        self.end += len(data)

    def close(self) -> None:
        self.file.close()


class SpooledPart(io.RawIOBase):
    """A seekable, readable view of one uploaded file inside the request's spool."""

    def __init__(self, spool: Spool, start: int) -> None:
        super().__init__()
        self.spool = spool
        self.start = start
        self.size = 0
        self.position = 0

    def __len__(self) -> int:
        return self.size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        """Called by the form parser while this part arrives; parts never interleave."""
        if self.spool.end != self.start + self.size:
            raise OSError("spooled parts must be written one after another")
        self.spool.append(bytes(data))
        self.size += len(data)
        return len(data)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = max(0, min(len(buffer), self.size - self.position))
        if not count:
            return 0
        data = os.pread(self.spool.fd, count, self.start + self.position)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)

    def readall(self) -> bytes:
        data = os.pread(self.spool.fd, max(0, self.size - self.position), self.start + self.position)
        self.position += len(data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError(errno.EINVAL, "negative seek position")  # as a real file does; zipfile relies on it
        self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        """Closing a view leaves the spool open; the request closes the spool when it ends."""
        super().close()


class SpoolingRequest(Request):
    """Flask's request, with uploaded files spooled into one temporary file (see module doc)."""

    _spool: Spool | None = None

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        if self._spool is None:
            self._spool = Spool(current_app.config.get("UPLOAD_SPOOL_DIR"))
        return self._spool.new_part()  # type: ignore[return-value]

    def close(self) -> None:
        super().close()
        if self._spool is not None:
            self._spool.close()
            self._spool = None
