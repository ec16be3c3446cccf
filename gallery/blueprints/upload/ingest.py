"""Store an upload in Orthanc, file by file, and account for every file.

Each DICOM file is posted on its own as raw bytes (Orthanc answers a multipart
body with an empty 200, and a ZIP body with nothing per entry), by a small pool
of threads so an upload runs near Orthanc's own speed. Memory stays bounded: at
most 2 × `workers` files are queued, each read whole only below STREAM_ABOVE
bytes and streamed from disk above it.

If Orthanc stops answering, the files not yet sent are not tried: the report
says for each file whether it was stored, certainly not stored, or possibly not.
"""

from __future__ import annotations

import logging
import threading
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from typing import BinaryIO

from flask_babel import lazy_gettext as _l

from ...archive.models import Outcome, UploadItem
from ...orthanc.client import OrthancClient
from ...orthanc.errors import OrthancBadRequest, OrthancError, OrthancNotFound, OrthancUnauthorized, OrthancUnavailable
from .limits import DEFAULT_LIMITS, ZipLimits
from .sources import HEAD_SIZE, NESTED_ZIP_REASON, Entry, Upload, expand, is_zip_content, looks_like_dicom

log = logging.getLogger(__name__)

#: Files larger than this are streamed to Orthanc from disk instead of being read whole.
STREAM_ABOVE = 8 * 1024 * 1024

EMPTY = _l("empty file (0 bytes)")
NOT_DICOM = _l("not a DICOM file")
DAMAGED_DICOM = _l("damaged or incomplete DICOM file: Orthanc cannot read it")
MISSING_UIDS = _l("missing required UIDs (a DICOM file needs its Study, Series and SOP Instance UIDs)")
DAMAGED_ENTRY = _l("damaged inside the ZIP (its checksum or header is wrong); nothing was stored from it")
UNSUPPORTED_COMPRESSION = _l("compressed with a method the gallery cannot unpack; nothing was stored from it")
NOTHING_STORED = _l("Orthanc unavailable — nothing was stored from this file, try again")
MAYBE_STORED = _l(
    "Orthanc stopped answering while this file was being sent — it may not have been stored, "
    "try again (a file already stored is then reported as such)"
)
UNEXPECTED = _l("not stored: the gallery could not process this file (the error was logged)")
CREDENTIALS = _l("Orthanc refused the gallery's credentials — nothing was stored; an administrator must fix this")


class SizedStream:
    """A readable stream that tells its length, so it is sent with a Content-Length."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream, self.size = stream, size

    def __len__(self) -> int:
        return self.size

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()


class Stop:
    """Set once when Orthanc stops answering (or refuses us): later files are not sent."""

    def __init__(self) -> None:
        self.reason = ""
        self._lock = threading.Lock()

    def set(self, reason: str) -> None:
        with self._lock:
            self.reason = self.reason or reason


def store_entry(entry: Entry, client: OrthancClient, stop: Stop) -> UploadItem:
    """Send one file to Orthanc and say what became of it, in words a user understands."""
    if stop.reason:
        return entry.item(Outcome.REJECTED, stop.reason)
    try:
        with entry.open() as stream:
            head = stream.read(HEAD_SIZE)
            if entry.name and is_zip_content(head):  # a ZIP inside a ZIP, whatever its name: not unpacked
                return entry.item(Outcome.SKIPPED, NESTED_ZIP_REASON)
            if not head or not looks_like_dicom(head):  # in a folder or ZIP, expected: skipped
                outcome = Outcome.SKIPPED if entry.contained else Outcome.REJECTED
                return entry.item(outcome, NOT_DICOM if head else EMPTY)
            stream.seek(0)
            answer = client.store_instance(
                stream.read() if entry.size <= STREAM_ABOVE else SizedStream(stream, entry.size)
            )
    except Exception as error:  # whatever went wrong, the file stays in the report
        return entry.item(Outcome.REJECTED, failure_reason(error, entry, stop))
    return entry.item(
        Outcome.ALREADY_STORED if answer.get("Status") == "AlreadyStored" else Outcome.STORED,
        instance=answer["ID"],
        series=answer["ParentSeries"],
        study=answer["ParentStudy"],
        patient=answer["ParentPatient"],
    )


#: Why a file was not stored, by the error met while reading or sending it.
REASONS: tuple[tuple[type[Exception] | tuple[type[Exception], ...], str], ...] = (
    ((zipfile.BadZipFile, zlib.error, EOFError), DAMAGED_ENTRY),
    (NotImplementedError, UNSUPPORTED_COMPRESSION),  # a ZIP method zipfile lacks (Deflate64, ...)
    (OrthancNotFound, MISSING_UIDS),  # Orthanc 1.10 answers 404 "Inexistent tag"
    (OrthancBadRequest, DAMAGED_DICOM),  # 400 "Bad file format"
)


def failure_reason(error: Exception, entry: Entry, stop: Stop) -> str:
    """Plain words for a failure; when Orthanc is gone or refuses the gallery, later files are not sent."""
    if isinstance(error, OrthancUnavailable):
        stop.set(NOTHING_STORED)
        return MAYBE_STORED if error.reached else NOTHING_STORED
    if isinstance(error, OrthancUnauthorized):
        stop.set(CREDENTIALS)
        return CREDENTIALS
    for kinds, reason in REASONS:
        if isinstance(error, kinds):
            return reason
    if isinstance(error, OrthancError):
        return _l("Orthanc could not store it: %(reason)s", reason=error.message)
    log.exception("upload: unexpected error on file %d", entry.upload.index, exc_info=error)
    return UNEXPECTED


def store_all(
    uploads: Iterable[Upload],
    client: OrthancClient,
    workers: int = 4,
    limits: ZipLimits = DEFAULT_LIMITS,
) -> tuple[list[UploadItem], bool]:
    """Store every file of `uploads`; one report line per file (per entry for ZIPs), in order.

    Returns the lines and whether Orthanc stopped answering part-way.
    """
    stop = Stop()
    queued = threading.BoundedSemaphore(2 * workers)
    results: list[Future[UploadItem] | UploadItem] = []
    with ExitStack() as archives, ThreadPoolExecutor(workers, thread_name_prefix="upload") as pool:
        for upload in uploads:
            for entry in expand(upload, archives, limits):
                if isinstance(entry, UploadItem):
                    results.append(entry)
                    continue
                queued.acquire()
                future = pool.submit(store_entry, entry, client, stop)
                future.add_done_callback(lambda _: queued.release())
                results.append(future)
        items = [r.result() if isinstance(r, Future) else r for r in results]
    log.info("upload: %d files, %s", len(items), "interrupted" if stop.reason else "complete")
    return items, bool(stop.reason)
