"""Limits on what a ZIP archive in an upload may expand to: the defence against ZIP bombs.

A ZIP's central directory declares each entry's compressed and uncompressed size, and
`zipfile` never yields more than the declared uncompressed size (an entry whose data
inflates further is cut there), so every limit here is checked from the directory
alone, before a byte is unpacked. The entry count is read from the end-of-central-directory record,
before `zipfile` builds an object per entry.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from flask_babel import gettext as _

import config as defaults

from ...web.formatting import file_size, number

#: Entries smaller than this are never refused for their compression ratio: tiny files
#: (empty text, a repeated header) compress far beyond any DICOM image, harmlessly.
RATIO_FLOOR = 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    """See config.py (UPLOAD_ZIP_*) for what each limit guards and its default."""

    max_entries: int
    max_entry_size: int
    max_total_size: int
    max_ratio: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ZipLimits:
        return cls(
            max_entries=config["UPLOAD_ZIP_MAX_ENTRIES"],
            max_entry_size=config["UPLOAD_ZIP_MAX_ENTRY_SIZE"],
            max_total_size=config["UPLOAD_ZIP_MAX_TOTAL_SIZE"],
            max_ratio=config["UPLOAD_ZIP_MAX_RATIO"],
        )


#: The defaults of config.py, for callers without an app (benchmarks, the demo loader).
DEFAULT_LIMITS = ZipLimits.from_config(vars(defaults))


def declared_entries(stream: BinaryIO) -> int | None:
    """The entry count in the end-of-central-directory record (ZIP64 aware), or None if there is none."""
    record = zipfile._EndRecData(stream)  # noqa: SLF001 - zipfile's own reader of that record, stable since 2.x
    stream.seek(0)
    return None if record is None else int(record[zipfile._ECD_ENTRIES_TOTAL])  # noqa: SLF001


def archive_refusal(entries: int, infos: list[zipfile.ZipInfo] | None, limits: ZipLimits) -> str | None:
    """Why a whole archive is refused (nothing in it is stored), or None."""
    if entries > limits.max_entries:
        return _(
            "holds %(entries)s entries, more than the limit of %(limit)s per ZIP; "
            "nothing in it was stored. Split it into smaller archives",
            entries=number(entries),
            limit=number(limits.max_entries),
        )
    if infos is not None:
        total = sum(info.file_size for info in infos)
        if total > limits.max_total_size:
            return _(
                "would unpack to %(size)s, more than the limit of %(limit)s per ZIP; "
                "nothing in it was stored. Split it into smaller archives",
                size=file_size(total),
                limit=file_size(limits.max_total_size),
            )
    return None


def entry_refusal(info: zipfile.ZipInfo, limits: ZipLimits) -> str | None:
    """Why one entry is refused before it is unpacked, or None."""
    if info.file_size > limits.max_entry_size:
        return _(
            "unpacks to %(size)s, more than the limit of %(limit)s per file; not unpacked",
            size=file_size(info.file_size),
            limit=file_size(limits.max_entry_size),
        )
    if info.file_size >= RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
        ratio = info.file_size // max(info.compress_size, 1)
        return _(
            "compressed %(ratio)s to 1 (the limit is %(limit)s to 1): this looks like a ZIP bomb; not unpacked",
            ratio=number(ratio),
            limit=number(limits.max_ratio),
        )
    return None
