"""Hostile uploads: ZIP bombs, path-traversal names, nested archives, thousands of entries, a cut-off body.

Each is refused or handled with a clear message per file, in bounded memory (Python's
allocation peak during the request is measured with tracemalloc) and bounded disk (the
one spool file per request), and no temporary file outlives its request.
"""

from __future__ import annotations

import io
import os
import socket
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gallery import create_app
from gallery.blueprints.upload.sources import NESTED_ZIP_REASON
from scripts.synthetic import PatientInfo, StudyInfo, small_study

from ..support.uploads import make_zip, outcomes, report_of
from ..support.web import ADMIN_PASSWORD, ADMIN_USER, LiveServer, client_for

GIB = 1024**3
MIB = 1024**2
#: Python's allocation peak allowed while one hostile upload is handled. Measured: ~1 MiB; an unpacked
#: bomb would be 1 GiB, and parsing the directory of 50,001 entries ~25 MiB.
MEMORY_BOUND = 12 * MIB


# -- building hostile archives ------------------------------------------------------------


def zeros_deflated(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of `size` zero bytes (a multiple of 1 MiB) and its CRC, built in ~2 s.

    One MiB is compressed once with a full flush (which resets the dictionary), so the
    segment may be repeated as it is; an empty final block ends the stream.
    """
    segment = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = segment.compress(bytes(MIB)) + segment.flush(zlib.Z_FULL_FLUSH)
    crc, chunk = 0, bytes(MIB)
    for _ in range(size // MIB):
        crc = zlib.crc32(chunk, crc)
    return block * (size // MIB) + zlib.compressobj(9, zlib.DEFLATED, -15).flush(), crc


def raw_zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A ZIP written field by field from (name, deflated data, crc, declared size): sizes may lie."""
    body, directory, offset = [], [], 0
    for name, data, crc, size in entries:
        encoded = name.encode()
        body.append(
            struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0)
        )
        body += [encoded, data]
        directory.append(struct.pack(
            "<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0, 0,
            0, 0, 0, offset,
        ))  # fmt: skip
        directory.append(encoded)
        offset += 30 + len(encoded) + len(data)
    listing = b"".join(directory)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(listing), offset, 0)
    return b"".join(body) + listing + end


def tiny_dicom(count: int, name: str = "Tiny") -> list[bytes]:
    study = StudyInfo(PatientInfo(f"{name}^Hostile", f"HOST-{name}"), name, "20250101", "", f"{name} study")
    return list(small_study(study, "CT", instances=count, size=8))


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def spool_dir(tmp_path: Path) -> Iterator[Path]:
    """The uploads' spool directory; after the test it is empty and no spool file is still open."""
    path = tmp_path / "spool"
    path.mkdir()
    yield path
    assert list(path.iterdir()) == []
    assert open_spool_files(path) == []


@pytest.fixture
def hostile_app(app_config, fresh_orthanc, spool_dir: Path):
    return create_app(app_config(fresh_orthanc, UPLOAD_SPOOL_DIR=str(spool_dir)))


@pytest.fixture
def hostile_client(hostile_app):
    return client_for(hostile_app)


def open_spool_files(spool_dir: Path) -> list[str]:
    """Files of this process still open in the spool directory (anonymous files show as '#123 (deleted)')."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(spool_dir)):
            found.append(target)
    return found


def measured(function):
    """Call `function`; return its result and Python's allocation peak meanwhile (all threads)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = function()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def study_count(app) -> int:
    return len(app.extensions["orthanc"].get_json("/studies"))


# -- ZIP bombs ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gigabyte_of_zeros() -> tuple[bytes, int]:
    return zeros_deflated(GIB)


def test_a_zip_bomb_entry_is_refused_unread_in_bounded_memory(hostile_app, hostile_client, gigabyte_of_zeros):
    """1 GiB of zeros deflated to ~1 MB, beside a real DICOM file: the bomb is refused, the file stored."""
    data, crc = gigabyte_of_zeros
    assert len(data) < 2 * MIB
    dicom = tiny_dicom(1, "Bomb")[0]
    bomb = raw_zip(
        [("bomb.dcm", data, crc, GIB), ("real.dcm", zlib.compress(dicom)[2:-4], zlib.crc32(dicom), len(dicom))]
    )
    report, peak = measured(lambda: report_of(hostile_client, [("bomb.zip", bomb)]))
    found = outcomes(report)
    outcome, reason = found["bomb.zip:bomb.dcm"]
    assert outcome == "rejected" and "ZIP bomb" in reason and "1,0" in reason, reason
    assert found["bomb.zip:real.dcm"][0] == "stored"
    assert peak < MEMORY_BOUND, f"peak {peak / MIB:.0f} MiB"


def test_an_entry_over_the_size_limit_is_refused_with_the_limit_named(app_config, fresh_orthanc, spool_dir):
    app = create_app(app_config(fresh_orthanc, UPLOAD_SPOOL_DIR=str(spool_dir), UPLOAD_ZIP_MAX_ENTRY_SIZE=MIB))
    big = os.urandom(2 * MIB)  # incompressible: not a bomb by ratio, only too large
    report = report_of(client_for(app), [("big.zip", make_zip([("big.dcm", big)]))])
    outcome, reason = outcomes(report)["big.zip:big.dcm"]
    assert outcome == "rejected" and "2.0 MB" in reason and "1.0 MB per file" in reason


def test_a_zip_whose_entries_lie_about_their_size_is_read_only_as_far_as_declared(hostile_client, gigabyte_of_zeros):
    """Declared 4 KB, really 1 GiB: zipfile stops at the declared size, so memory stays bounded."""
    data, _ = gigabyte_of_zeros
    liar = raw_zip([("liar.dcm", data, zlib.crc32(bytes(4096)), 4096)])
    report, peak = measured(lambda: report_of(hostile_client, [("liar.zip", liar)]))
    assert outcomes(report)["liar.zip:liar.dcm"] == ("skipped", "not a DICOM file")
    assert peak < MEMORY_BOUND, f"peak {peak / MIB:.0f} MiB"


def test_a_zip_of_more_entries_than_the_limit_is_refused_whole_before_it_is_parsed(hostile_app, hostile_client):
    """50,001 empty entries (the default limit is 50,000): refused from the end record, nothing stored."""
    count = hostile_app.config["UPLOAD_ZIP_MAX_ENTRIES"] + 1
    empty = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    many = raw_zip([(f"e{n}.dcm", empty, 0, 0) for n in range(count)])
    report, peak = measured(lambda: report_of(hostile_client, [("many.zip", many)]))
    assert len(report["items"]) == 1
    outcome, reason = outcomes(report)["many.zip"]
    assert outcome == "rejected" and "50,001 entries" in reason and "50,000" in reason
    assert peak < MEMORY_BOUND, f"peak {peak / MIB:.0f} MiB"


def test_a_zip_unpacking_past_the_total_limit_is_refused_whole(app_config, fresh_orthanc, spool_dir):
    app = create_app(app_config(fresh_orthanc, UPLOAD_SPOOL_DIR=str(spool_dir), UPLOAD_ZIP_MAX_TOTAL_SIZE=10_000))
    files = tiny_dicom(12, "Total")
    report = report_of(client_for(app), [("total.zip", make_zip((f"{n}.dcm", f) for n, f in enumerate(files)))])
    outcome, reason = outcomes(report)["total.zip"]
    assert outcome == "rejected" and "per ZIP" in reason and "nothing in it was stored" in reason
    assert study_count(app) == 0


# -- names, nesting, counts --------------------------------------------------------------------


TRAVERSAL_NAMES = [
    "../../../{outside}/escaped.dcm",
    "/{outside}/absolute.dcm",
    "..\\..\\..\\{outside}\\backslash.dcm",
    "C:\\Windows\\{outside}\\drive.dcm",
    "ok/../../{outside}/dotdot.dcm",
]


def test_path_traversal_names_are_reported_by_name_and_nothing_is_written_outside(hostile_client, tmp_path):
    outside = tmp_path / "outside"
    names = [n.format(outside=str(outside).lstrip("/")) for n in TRAVERSAL_NAMES]
    files = tiny_dicom(len(names), "Traversal")
    report = report_of(hostile_client, [("traversal.zip", make_zip(zip(names, files, strict=True)))])
    reported = {item["entry"]: item for item in report["items"]}
    with zipfile.ZipFile(io.BytesIO(make_zip(zip(names, files, strict=True)))) as archive:
        assert set(reported) == set(archive.namelist())  # every entry, named as the ZIP names it
    assert all(item["outcome"] == "stored" for item in reported.values())
    assert not outside.exists() and not Path("/", names[0]).exists()
    sent = report_of(hostile_client, [("../../../../tmp/sent-as.dcm", files[0])])
    assert sent["items"][0]["file"] == "../../../../tmp/sent-as.dcm"
    assert not Path("/tmp/sent-as.dcm").exists()


def test_nested_archives_are_never_unpacked_whatever_their_name(hostile_app, hostile_client):
    """ZIP in ZIP in ZIP: the inner archives are reported as skipped with the reason; nothing inside is stored."""
    inner = make_zip([("deep.dcm", tiny_dicom(1, "Deep")[0])])
    middle = make_zip([("inner.zip", inner)])
    outer = make_zip([("middle.zip", middle), ("disguised.dcm", middle), ("top.dcm", tiny_dicom(1, "Top")[0])])
    found = outcomes(report_of(hostile_client, [("outer.zip", outer)]))
    assert found["outer.zip:middle.zip"] == ("skipped", NESTED_ZIP_REASON)
    assert found["outer.zip:disguised.dcm"] == ("skipped", NESTED_ZIP_REASON)
    assert found["outer.zip:top.dcm"][0] == "stored"
    assert study_count(hostile_app) == 1


def test_five_thousand_tiny_entries_are_all_accounted_for(hostile_app, hostile_client):
    dicom = tiny_dicom(40, "Thousands")
    entries = [(f"d/{n:04d}.dcm", data) for n, data in enumerate(dicom)]
    entries += [(f"t/{n:04d}.txt", b"x") for n in range(5000 - len(dicom))]
    report = report_of(hostile_client, [("thousands.zip", make_zip(entries))])
    assert report["total"] == 5000
    assert report["counts"]["stored"] == 40 and report["counts"]["skipped"] == 4960
    assert len(hostile_app.extensions["orthanc"].get_json("/instances")) == 40


# -- a cut-off request ------------------------------------------------------------------------


def test_a_truncated_multipart_body_gets_a_clear_400_and_leaves_no_temporary_file(hostile_app, spool_dir):
    server = LiveServer(hostile_app)
    try:
        boundary = "hostileboundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="cut.dcm"\r\n'
            "Content-Type: application/dicom\r\n\r\n"
        ).encode() + bytes(256 * 1024)
        credentials = requests.auth._basic_auth_str(ADMIN_USER, ADMIN_PASSWORD)
        request = (
            f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {credentials}\r\n"
            "Accept: application/json\r\nConnection: close\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {10 * MIB}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.server.server_port), timeout=20) as sock:
            sock.sendall(request + head)
            sock.shutdown(socket.SHUT_WR)  # the client gives up: the body ends 10 MB early
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.split()[1] == b"400", answer[:300]
        assert b"cut off" in rest and b"nothing was stored" in rest, rest
        assert study_count(hostile_app) == 0
    finally:
        server.stop()
