"""The test oracle roaring.py checked on its own: against bytes worked out
by hand from the specification, and against CRoaring (libroaring, loaded
with ctypes; the C tests use the same library) on random sets. pond's
to_roaring is then compared with roaring.py in test_sets/test_property."""
import ctypes
import ctypes.util
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import roaring


def test_hand_made_bytes():
    # {1, 2, 3}: cookie 12346, one container; key 0, cardinality-1 2;
    # offset 16; the three uint16 values.
    assert roaring.encode32([3, 1, 2]) == bytes.fromhex(
        "3a300000" "01000000" "0000" "0200" "10000000" "0100" "0200" "0300")
    # The empty set: cookie and a count of zero.
    assert roaring.encode32([]) == bytes.fromhex("3a30000000000000")
    # [10..19] as a run: cookie 12347 | (1-1) << 16, run-flag byte 0x01,
    # key 0, card-1 9, no offsets (fewer than 4 containers), 1 run (10, 9).
    assert roaring.encode32(range(10, 20), runs=True) == bytes.fromhex(
        "3b300000" "01" "0000" "0900" "0100" "0a00" "0900")
    # 64-bit: one bucket with high 32 bits 1 holding {5}.
    assert roaring.encode64([2**32 + 5]) == bytes.fromhex(
        "0100000000000000" "01000000" "3a300000" "01000000" "0000" "0000" "10000000" "0500")
    # A bitset container: 4097 values; words little-endian.
    ids = list(range(0, 8194, 2))
    data = roaring.encode32(ids)
    assert len(data) == 16 + 8192 and data[16:24] == struct.pack("<Q", 0x5555555555555555)
    for data in (roaring.encode32(ids), roaring.encode32(ids, True), roaring.encode64(ids, True)):
        assert roaring.decode(data) == ids


def _croaring():
    name = ctypes.util.find_library("roaring") or "libroaring.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    p = ctypes.c_void_p
    lib.roaring_bitmap_create.restype = p
    lib.roaring_bitmap_create.argtypes = []
    lib.roaring_bitmap_add_many.argtypes = [p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint32)]
    lib.roaring_bitmap_run_optimize.argtypes = [p]
    lib.roaring_bitmap_run_optimize.restype = ctypes.c_bool
    lib.roaring_bitmap_portable_size_in_bytes.argtypes = [p]
    lib.roaring_bitmap_portable_size_in_bytes.restype = ctypes.c_size_t
    lib.roaring_bitmap_portable_serialize.argtypes = [p, ctypes.c_char_p]
    lib.roaring_bitmap_portable_serialize.restype = ctypes.c_size_t
    lib.roaring_bitmap_portable_deserialize_safe.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.roaring_bitmap_portable_deserialize_safe.restype = p
    lib.roaring_bitmap_get_cardinality.argtypes = [p]
    lib.roaring_bitmap_get_cardinality.restype = ctypes.c_uint64
    lib.roaring_bitmap_to_uint32_array.argtypes = [p, ctypes.POINTER(ctypes.c_uint32)]
    lib.roaring_bitmap_free.argtypes = [p]
    return lib


CR = _croaring()
needs_croaring = pytest.mark.skipif(CR is None, reason="libroaring (CRoaring) is not installed")


def croaring_bytes(ids, runs):
    r = CR.roaring_bitmap_create()
    arr = (ctypes.c_uint32 * max(1, len(ids)))(*ids)
    CR.roaring_bitmap_add_many(r, len(ids), arr)
    if runs:
        CR.roaring_bitmap_run_optimize(r)
    buf = ctypes.create_string_buffer(CR.roaring_bitmap_portable_size_in_bytes(r))
    n = CR.roaring_bitmap_portable_serialize(r, buf)
    CR.roaring_bitmap_free(r)
    return buf.raw[:n]


def croaring_ids(data):
    r = CR.roaring_bitmap_portable_deserialize_safe(data, len(data))
    assert r, "CRoaring refused the bytes"
    n = CR.roaring_bitmap_get_cardinality(r)
    out = (ctypes.c_uint32 * max(1, n))()
    CR.roaring_bitmap_to_uint32_array(r, out)
    CR.roaring_bitmap_free(r)
    return list(out[:n])


# Sets that make every container kind: sparse arrays, dense bitsets, runs
# (short and long, at chunk edges), several chunks.
def _runs_strategy():
    run = st.tuples(st.integers(0, 2**32 - 1), st.integers(1, 3000))
    return st.lists(run, max_size=6).map(
        lambda rs: {v for a, n in rs for v in range(a, min(a + n, 2**32))})


id_sets = st.one_of(
    st.sets(st.integers(0, 2**32 - 1), max_size=50),
    st.sets(st.integers(0, 200_000), max_size=300),
    _runs_strategy(),
    st.builds(lambda a, n, step: set(range(a, min(a + n, 2**32), step)),
              st.integers(0, 2**32 - 1), st.integers(0, 70_000), st.integers(1, 3)),
)


@needs_croaring
@settings(max_examples=120)
@given(id_sets)
def test_encoder_writes_croarings_bytes(ids):
    ids = sorted(ids)
    assert roaring.encode32(ids) == croaring_bytes(ids, runs=False)
    assert roaring.encode32(ids, runs=True) == croaring_bytes(ids, runs=True)
    assert croaring_ids(roaring.encode32(ids, runs=True)) == ids
    assert roaring.decode(croaring_bytes(ids, runs=True)) == ids


@needs_croaring
def test_encoder_on_the_run_thresholds():
    # Around CRoaring's boundaries: run vs array (2 + 4r < 2c + 2) and run
    # vs bitset (2 + 4r < 8192), and 4096 vs 4097 values.
    rng = random.Random(7)
    cases = [[5, 6, 7], [5, 6], [1, 2, 3, 10, 11, 12], list(range(4096)), list(range(4097)),
             list(range(0, 8192, 2)), list(range(0, 8194, 2))]
    for nruns in (2046, 2047, 2048):  # bitset-sized containers with that many runs
        cases.append([v for k in range(nruns) for v in (k * 31, k * 31 + 1, k * 31 + 2)])
    for _ in range(50):
        base = rng.randrange(2**32 - 2**17)
        cases.append(sorted({base + rng.randrange(2**17) for _ in range(rng.randrange(1, 6000))}))
    for ids in cases:
        for runs in (False, True):
            assert roaring.encode32(ids, runs) == croaring_bytes(ids, runs), (len(ids), runs)
