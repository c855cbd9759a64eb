"""The Roaring portable serialization format, written from its specification
(https://github.com/RoaringBitmap/RoaringFormatSpec) for the tests: an encoder
for array and bitset containers (and, on request, run containers), and a
decoder for all three, both independent of pond's C code.

32-bit format, without run containers:
    uint32 cookie 12346, uint32 container count n,
    n x (uint16 key, uint16 cardinality - 1),
    n x uint32 byte offset of the container from the start,
    the containers: an array (cardinality <= 4096) is its sorted uint16s,
    a bitset is 1024 uint64 words.
With run containers: uint32 cookie 12347 | (n - 1) << 16, a bitmap of
ceil(n/8) bytes flagging run containers, the key/cardinality headers, the
offsets only when n >= 4, then the containers; a run container is uint16
run count, then (uint16 start, uint16 length - 1) per run.
64-bit ("portable 64-bit") format: uint64 count of 32-bit buckets, then per
bucket uint32 high 32 bits and the 32-bit bitmap of the low 32 bits.
All little-endian.
"""
import struct

SERIAL_COOKIE_NO_RUN = 12346
SERIAL_COOKIE = 12347
NO_OFFSET_THRESHOLD = 4


def _containers(ids):
    """{16-bit key: sorted low 16-bit values} of sorted 32-bit ids."""
    out = {}
    for v in ids:
        out.setdefault(v >> 16, []).append(v & 0xFFFF)
    return out


def _runs(lows):
    runs = []
    for v in lows:
        if runs and runs[-1][1] + 1 == v:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return runs


def encode32(ids, runs=False):
    """Portable bytes of a set of ids < 2**32. runs=True writes each container
    as a run container when CRoaring's runOptimize would make it one."""
    ids = sorted(set(ids))
    assert all(0 <= v < 2**32 for v in ids)
    conts = sorted(_containers(ids).items())
    n = len(conts)
    bodies, is_run = [], []
    for _, lows in conts:
        card = len(lows)
        r = _runs(lows)
        # CRoaring's runOptimize: a run container when strictly smaller than
        # the other kind, sizes as it counts them (array 2c + 2, bitset
        # 8192, run 2 + 4r), so that both write the same bytes.
        other = 2 * card + 2 if card <= 4096 else 8192
        if runs and 2 + 4 * len(r) < other:
            bodies.append(struct.pack("<H", len(r)) + b"".join(struct.pack("<HH", a, b - a) for a, b in r))
            is_run.append(True)
        elif card <= 4096:
            bodies.append(struct.pack(f"<{card}H", *lows))
            is_run.append(False)
        else:
            words = [0] * 1024
            for v in lows:
                words[v >> 6] |= 1 << (v & 63)
            bodies.append(struct.pack("<1024Q", *words))
            is_run.append(False)
    if any(is_run):
        head = struct.pack("<I", SERIAL_COOKIE | ((n - 1) << 16))
        flags = bytearray((n + 7) // 8)
        for i, r in enumerate(is_run):
            if r:
                flags[i // 8] |= 1 << (i % 8)
        head += bytes(flags)
        with_offsets = n >= NO_OFFSET_THRESHOLD
    else:
        head = struct.pack("<II", SERIAL_COOKIE_NO_RUN, n)
        with_offsets = True
    head += b"".join(struct.pack("<HH", key, len(lows) - 1) for key, lows in conts)
    if with_offsets:
        pos = len(head) + 4 * n
        offs = []
        for b in bodies:
            offs.append(pos)
            pos += len(b)
        head += struct.pack(f"<{n}I", *offs)
    return head + b"".join(bodies)


def encode64(ids, runs=False):
    """The portable 64-bit format (used by pond when an id is >= 2**32)."""
    buckets = {}
    for v in sorted(set(ids)):
        buckets.setdefault(v >> 32, []).append(v & 0xFFFFFFFF)
    out = struct.pack("<Q", len(buckets))
    for high in sorted(buckets):
        out += struct.pack("<I", high) + encode32(buckets[high], runs)
    return out


def decode32(data, pos=0):
    """(sorted ids, end position) of a portable 32-bit bitmap at data[pos:]."""
    (cookie,) = struct.unpack_from("<I", data, pos)
    p = pos + 4
    if cookie & 0xFFFF == SERIAL_COOKIE:
        n = (cookie >> 16) + 1
        flags = data[p : p + (n + 7) // 8]
        p += (n + 7) // 8
        is_run = [bool(flags[i // 8] >> (i % 8) & 1) for i in range(n)]
        with_offsets = n >= NO_OFFSET_THRESHOLD
    elif cookie == SERIAL_COOKIE_NO_RUN:
        (n,) = struct.unpack_from("<I", data, p)
        p += 4
        is_run = [False] * n
        with_offsets = True
    else:
        raise ValueError(f"bad cookie {cookie}")
    heads = [struct.unpack_from("<HH", data, p + 4 * i) for i in range(n)]
    p += 4 * n
    if with_offsets:
        p += 4 * n
    ids = []
    for (key, card1), run in zip(heads, is_run):
        card = card1 + 1
        if run:
            (nr,) = struct.unpack_from("<H", data, p)
            p += 2
            for i in range(nr):
                start, length = struct.unpack_from("<HH", data, p + 4 * i)
                ids.extend((key << 16) | v for v in range(start, start + length + 1))
            p += 4 * nr
        elif card <= 4096:
            ids.extend((key << 16) | v for v in struct.unpack_from(f"<{card}H", data, p))
            p += 2 * card
        else:
            words = struct.unpack_from("<1024Q", data, p)
            p += 8192
            for w, word in enumerate(words):
                while word:
                    low = word & -word
                    ids.append((key << 16) | (w << 6) | (low.bit_length() - 1))
                    word ^= low
    return ids, p


def decode(data):
    """Sorted ids of either format (pond writes 64-bit only past 2**32)."""
    if len(data) >= 4 and struct.unpack_from("<I", data)[0] & 0xFFFF in (SERIAL_COOKIE, SERIAL_COOKIE_NO_RUN):
        ids, end = decode32(data)
        assert end == len(data), "trailing bytes"
        return ids
    (nb,) = struct.unpack_from("<Q", data)
    p, ids = 8, []
    for _ in range(nb):
        (high,) = struct.unpack_from("<I", data, p)
        low, p = decode32(data, p + 4)
        ids.extend((high << 32) | v for v in low)
    assert p == len(data), "trailing bytes"
    return ids
