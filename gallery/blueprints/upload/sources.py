"""What an upload holds: the files sent, and the entries of the ZIP archives among them.

Each file sent becomes one `Entry` to store, except a ZIP archive, which becomes
one entry per file inside it (folders inside the ZIP are not entries). Names
that are never DICOM (macOS and Windows metadata, DICOMDIR indexes) are
reported as skipped before anything is read.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from flask_babel import lazy_gettext as _l

from ...archive.models import Outcome, UploadItem
from .limits import DEFAULT_LIMITS, ZipLimits, archive_refusal, declared_entries, entry_refusal

#: Bytes read to recognise a file: the 128-byte preamble and the "DICM" magic.
HEAD_SIZE = 132

SYSTEM_FILES = {
    ".ds_store": "macOS folder metadata (.DS_Store)",
    "thumbs.db": _l("Windows thumbnail cache (Thumbs.db)"),
    "desktop.ini": _l("Windows folder settings (desktop.ini)"),
}
DICOMDIR_REASON = _l("DICOMDIR index file (the images it lists are uploaded as files of their own)")
NESTED_ZIP_REASON = _l("a ZIP inside a ZIP: unpack it and upload what it holds")
UNREADABLE_ZIP_REASON = _l("not a readable ZIP archive (it may be damaged or incomplete); nothing in it was stored")
EMPTY_ZIP_REASON = _l("empty ZIP archive (no files inside)")
ENCRYPTED_REASON = _l("encrypted (password-protected) ZIP entry: the gallery cannot unpack it")


@dataclass(frozen=True)
class Upload:
    """One file of the request, spooled to disk: a DICOM file, a ZIP, or anything else."""

    index: int
    name: str  # as sent, with its folder path for folder uploads
    stream: BinaryIO  # seekable
    in_folder: bool  # chosen as part of a folder, where non-DICOM files are expected

    @classmethod
    def of(cls, index: int, name: str, stream: BinaryIO, in_folder: bool) -> Upload:
        return cls(index, name.replace("\\", "/").lstrip("/") or "(unnamed file)", stream, in_folder)


@dataclass(frozen=True)
class Entry:
    """One file to store: an upload on its own, or one entry of a ZIP."""

    upload: Upload
    name: str  # path inside the ZIP, "" for an upload on its own
    size: int
    open: Callable[[], BinaryIO]  # a readable, seekable stream of the content, from the start
    contained: bool  # inside a ZIP or a folder: a non-DICOM file is skipped, not rejected

    def item(self, outcome: Outcome, reason: str = "", **ids: str) -> UploadItem:
        return UploadItem(self.upload.name, self.upload.index, self.name, self.size, outcome, reason, **ids)


def looks_like_dicom(head: bytes) -> bool:
    """The 'DICM' magic after the preamble, or a bare data set starting with group 0002/0008.

    Orthanc also accepts files without the preamble, so those are sent too; anything
    else (JPEG, PDF, text) is known not to be DICOM without asking Orthanc.
    """
    return head[128:132] == b"DICM" or head[:2] in (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08")


def system_file_reason(path: str) -> str | None:
    """Why a file is skipped by its name alone, or None when it may be DICOM."""
    parts = PurePosixPath(path).parts
    base = parts[-1] if parts else ""
    if "__MACOSX" in parts[:-1] or base.startswith("._"):
        return "macOS metadata (__MACOSX, ._ files)"
    if base.lower() in SYSTEM_FILES:
        return SYSTEM_FILES[base.lower()]
    if base.upper() == "DICOMDIR":
        return DICOMDIR_REASON
    return None


def read_head(stream: BinaryIO) -> bytes:
    stream.seek(0)
    head = stream.read(HEAD_SIZE)
    stream.seek(0)
    return head


def is_zip(name: str, head: bytes) -> bool:
    if head[128:132] == b"DICM":
        return False
    return is_zip_content(head) or name.lower().endswith(".zip")


def is_zip_content(head: bytes) -> bool:
    return head.startswith((b"PK\x03\x04", b"PK\x05\x06"))


def size_of(stream: BinaryIO) -> int:
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    return size


def expand(upload: Upload, stack: ExitStack, limits: ZipLimits = DEFAULT_LIMITS) -> Iterator[Entry | UploadItem]:
    """The entries of one upload, and ready report lines for what is skipped by name or refused by `limits`.

    ZIP archives are opened with `stack`, which must stay open until every entry is stored.
    """
    size = size_of(upload.stream)
    own = Entry(upload, "", size, lambda: rewound(upload.stream), upload.in_folder)
    reason = system_file_reason(upload.name)
    if reason:
        yield own.item(Outcome.SKIPPED, reason)
        return
    if not is_zip(upload.name, read_head(upload.stream)):
        yield own
        return
    try:
        entries = declared_entries(upload.stream)
        refused = archive_refusal(entries or 0, None, limits)
        if refused:  # before zipfile builds an object per entry
            yield own.item(Outcome.REJECTED, refused)
            return
        archive = stack.enter_context(zipfile.ZipFile(upload.stream))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        yield own.item(Outcome.REJECTED, UNREADABLE_ZIP_REASON)
        return
    refused = archive_refusal(len(infos), infos, limits)
    if refused:
        yield own.item(Outcome.REJECTED, refused)
        return
    if not any(not info.is_dir() for info in infos):
        yield own.item(Outcome.SKIPPED, EMPTY_ZIP_REASON)
        return
    for info in infos:
        if info.is_dir():
            continue
        entry = Entry(upload, info.filename, info.file_size, lambda i=info: archive.open(i), True)
        reason = system_file_reason(info.filename)
        if reason:
            yield entry.item(Outcome.SKIPPED, reason)
        elif info.filename.lower().endswith(".zip"):
            yield entry.item(Outcome.SKIPPED, NESTED_ZIP_REASON)
        elif info.flag_bits & 0x1:
            yield entry.item(Outcome.REJECTED, ENCRYPTED_REASON)
        elif refused := entry_refusal(info, limits):
            yield entry.item(Outcome.REJECTED, refused)
        else:
            yield entry


def rewound(stream: BinaryIO) -> BinaryIO:
    stream.seek(0)
    return stream
