"""Volumes in memory: .npy parsing without copies, compact storage, and the LRU bounded in bytes."""

from __future__ import annotations

import io
import threading
import time

import numpy as np

from gallery.imaging.lru import LRU
from gallery.imaging.voxels import compact, parse_npy


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_parse_npy_reads_c_and_fortran_order():
    volume = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4, 1)
    assert np.array_equal(parse_npy(npy(volume)), volume)
    fortran = np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4))
    parsed = parse_npy(npy(fortran))
    assert parsed.dtype == np.int16 and np.array_equal(parsed, fortran)


def test_compact_keeps_values_exactly_in_fewer_bytes():
    assert compact(np.array([0.0, 255.0], dtype=np.float32)).dtype == np.uint8
    assert compact(np.array([0.0, 4095.0], dtype=np.float32)).dtype == np.uint16
    ct = compact(np.array([-1024.0, 3071.0], dtype=np.float32))
    assert ct.dtype == np.int16 and list(ct) == [-1024, 3071]
    assert compact(np.array([0.5, 1.0], dtype=np.float32)).dtype == np.float32  # rescaled to fractions: kept


def block() -> np.ndarray:
    return np.zeros(1000, dtype=np.uint8)


def test_volume_cache_is_bounded_in_bytes_and_least_recently_used_goes_first():
    cache = LRU(3000, weigh=lambda volume: volume.nbytes)
    for key in ("a", "b", "c"):
        cache.get(key, block)
    cache.get("a", never)  # a hit, which makes "b" the least recently used
    cache.get("d", block)  # evicts "b"
    assert cache.size == 3000
    loads = []
    cache.get("b", lambda: loads.append("b") or block())  # loaded again, evicting "c"
    cache.get("a", never)
    cache.get("d", never)
    assert loads == ["b"] and cache.size == 3000


def test_concurrent_requests_fetch_a_volume_once():
    cache = LRU(10**6, weigh=lambda volume: volume.nbytes)
    loads = []

    def slow_load() -> np.ndarray:
        loads.append(1)
        time.sleep(0.2)
        return np.ones(10)

    threads = [threading.Thread(target=cache.get, args=("series", slow_load)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1


def never() -> np.ndarray:
    raise AssertionError("a cached volume was loaded again")
