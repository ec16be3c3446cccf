"""Downloads: Orthanc's files and archives streamed through, and ZIPs written while they are sent.

Nothing here holds a whole download in memory: Orthanc's answer is passed on
chunk by chunk, and a ZIP of rendered images is produced one entry at a time.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator

from flask import Response, current_app, g

from ..access.deidentified import lens
from ..extensions import orthanc

UNSAFE = re.compile(r"[^0-9A-Za-z._-]+")
MAX_NAME = 100


def safe_filename(text: str, fallback: str = "download") -> str:
    """A name that is safe in a Content-Disposition header and on any file system."""
    name = UNSAFE.sub("_", text).strip("._-")[:MAX_NAME]
    return name or fallback


def attachment(response: Response, filename: str) -> Response:
    response.headers["Content-Disposition"] = f'attachment; filename="{safe_filename(filename)}"'
    return response


def orthanc_download(path: str, filename: str, mimetype: str, length: int | None = None) -> Response:
    """Stream an Orthanc resource (a DICOM file, a ZIP archive) to the browser without buffering it."""
    stream = orthanc().stream(path)
    response = Response(stream.chunks, mimetype=mimetype)
    response.call_on_close(stream.close)
    if length:
        response.headers["Content-Length"] = str(length)
    return attachment(response, filename)


class _Sink:
    """A write-only, unseekable file for zipfile: collects what was written since the last drain."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_stream(entries: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    """ZIP bytes, yielded entry by entry; give a generator so each entry is produced only when its turn comes.

    Stored, not deflated: PNG and JPEG are compressed already.
    """
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
        for name, content in entries:
            archive.writestr(name, content)
            yield sink.drain()
    yield sink.drain()


def zip_stream_chunks(entries: Iterable[tuple[str, Iterable[bytes]]]) -> Iterator[bytes]:
    """ZIP bytes of files given as chunk streams: each chunk is passed on as it arrives, no file is held whole."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:  # type: ignore[arg-type]
        for name, chunks in entries:
            with archive.open(name, "w", force_zip64=True) as member:
                for chunk in chunks:
                    member.write(chunk)
                    yield sink.drain()
            yield sink.drain()
    yield sink.drain()


def with_app_context(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Produce each chunk of a response body inside an app context (cache, Orthanc client, config).

    The context is pushed only while a chunk is being made and popped before it
    is handed over, so a body that is abandoned half-way holds nothing open. It
    carries the request's de-identified link (access/deidentified.py), so what
    the body shows is what the request's pages show.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    visitor_lens = lens()

    def run() -> Iterator[bytes]:
        while True:
            with app.app_context():
                g.lens = visitor_lens
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    return run()


def zip_response(entries: Iterable[tuple[str, bytes]], filename: str) -> Response:
    """A ZIP built while it is sent; `entries` should be a generator, so each file is produced in turn."""
    response = Response(with_app_context(zip_stream(entries)), mimetype="application/zip")
    return attachment(response, filename)
