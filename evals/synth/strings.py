"""Vectorised, hash-derived strings: ids, on-chain addresses, tx hashes, devices, IPs, bank refs.

Everything that must look random but be reproducible is derived from a 64-bit key through
splitmix64, so the same (seed, entity, slot) always gives the same string without storing it, and
millions of strings are built with numpy and Arrow buffers instead of Python loops.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
BASE58 = np.frombuffer(b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", dtype=np.uint8)
BECH32 = np.frombuffer(b"qpzry9x8gf2tvdw0s3jn54khce6mua7l", dtype=np.uint8)

# Namespaces keep the hash streams of different entity kinds apart.
NS = {"personal": 1, "bank": 2, "device": 3, "ip": 4, "travel_ip": 5, "txhash": 6, "fresh": 7,
      "label": 8, "chainhash": 9, "p_txhash": 10, "fresh_device": 11, "fresh_ip": 12}

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_G = np.uint64(0x9E3779B97F4A7C15)
_MASK = (1 << 64) - 1


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic is intended)."""
    z = x.astype(np.uint64, copy=True)
    z += _G
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def keys(seed: int, ns: str, *parts: np.ndarray | int) -> np.ndarray:
    """Combine a seed, a namespace and integer parts into one uint64 key per row."""
    k = mix64(np.array([(seed * 1_000_003 + NS[ns]) & _MASK], dtype=np.uint64))
    n = max((np.size(p) for p in parts), default=1)
    out = np.broadcast_to(k, (n,)).copy()
    for p in parts:
        out = mix64(out ^ np.asarray(p, dtype=np.uint64))
    return out


def random_bytes(k: np.ndarray, nbytes: int) -> np.ndarray:
    """(n, nbytes) uint8 matrix of pseudo-random bytes derived from the keys."""
    words = -(-nbytes // 8)
    cols = [mix64(k + np.uint64(((j + 1) * 0x9E3779B97F4A7C15) & _MASK)) for j in range(words)]
    return np.stack(cols, axis=1).view(np.uint8)[:, :nbytes]


def from_matrix(mat: np.ndarray, lengths: np.ndarray | None = None) -> pa.StringArray:
    """Build an Arrow string array from a (n, w) uint8 matrix, optionally cut to per-row lengths."""
    n, w = mat.shape
    if lengths is None:
        offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
        data = np.ascontiguousarray(mat).tobytes()
    else:
        lengths = lengths.astype(np.int64)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        data = mat[np.arange(w)[None, :] < lengths[:, None]].tobytes()
    if offsets[-1] < 2**31:
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data))
    big = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    return big.cast(pa.string())


def _alphabet(k: np.ndarray, alphabet: np.ndarray, length: int, prefix: bytes) -> np.ndarray:
    body = alphabet[random_bytes(k, length) % len(alphabet)]
    if not prefix:
        return body
    pre = np.broadcast_to(np.frombuffer(prefix, dtype=np.uint8), (len(k), len(prefix)))
    return np.concatenate([pre, body], axis=1)


def hex_matrix(k: np.ndarray, nbytes: int, prefix: bytes = b"") -> np.ndarray:
    """Lower-case hex of `nbytes` pseudo-random bytes, with an optional prefix."""
    b = random_bytes(k, nbytes)
    body = np.empty((len(k), 2 * nbytes), dtype=np.uint8)
    body[:, 0::2] = HEX[b >> 4]
    body[:, 1::2] = HEX[b & 15]
    if not prefix:
        return body
    pre = np.broadcast_to(np.frombuffer(prefix, dtype=np.uint8), (len(k), len(prefix)))
    return np.concatenate([pre, body], axis=1)


def addresses(k: np.ndarray, family: str) -> pa.StringArray:
    """Realistic-looking addresses of a chain family (bitcoin, evm, tron, litecoin, solana)."""
    if len(k) == 0:
        return pa.array([], pa.string())
    if family == "evm":
        return from_matrix(hex_matrix(k, 20, b"0x"))
    if family == "tron":
        return from_matrix(_alphabet(k, BASE58, 33, b"T"))
    if family == "solana":
        return from_matrix(_alphabet(k, BASE58, 44, b""))
    if family in ("bitcoin", "litecoin"):
        seg, legacy = (b"bc1q", b"1") if family == "bitcoin" else (b"ltc1q", b"L")
        width = len(seg) + 38
        bech = _alphabet(k, BECH32, 38, seg)
        leg = _alphabet(k ^ np.uint64(0xA5A5), BASE58, 33, legacy)
        leg = np.pad(leg, ((0, 0), (0, width - leg.shape[1])))
        is_legacy = (k % np.uint64(100)) < np.uint64(18)
        mat = np.where(is_legacy[:, None], leg, bech)
        lengths = np.where(is_legacy, 34, width)
        return from_matrix(mat, lengths)
    raise ValueError(f"unknown chain family {family!r}")


def tx_hashes(k: np.ndarray, chain: str) -> pa.StringArray:
    """On-chain transaction hashes in the chain's usual spelling."""
    if chain in ("ethereum", "bsc"):
        return from_matrix(hex_matrix(k, 32, b"0x"))
    if chain == "solana":
        return from_matrix(_alphabet(k, BASE58, 88, b""))
    return from_matrix(hex_matrix(k, 32))


def prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.StringArray:
    """`PREFIX` + zero-padded number, e.g. TX-000000001."""
    s = pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(s, width, "0"), "")


def devices(k: np.ndarray) -> pa.StringArray:
    """Device fingerprints `DEV-<hex8>`."""
    return from_matrix(hex_matrix(k, 4, b"DEV-"))


def ips(k: np.ndarray, first_octets: tuple[int, ...]) -> pa.StringArray:
    """Dotted quads in private-looking ranges (never contacted), first octet from the given set."""
    b = random_bytes(k, 4).astype(np.int64)
    first = np.asarray(first_octets, dtype=np.int64)[b[:, 0] % len(first_octets)]
    second = np.where(first == 172, 16 + b[:, 1] % 16, b[:, 1])
    parts = [pc.cast(pa.array(x), pa.string()) for x in (first, second, b[:, 2], 1 + b[:, 3] % 254)]
    return pc.binary_join_element_wise(*parts, ".")


def bank_refs(k: np.ndarray, countries: pa.Array) -> pa.StringArray:
    """External bank references `BANK-<CC>-<10 digits>`."""
    digits = (k % np.uint64(10**10)).astype(np.int64)
    num = pc.utf8_lpad(pc.cast(pa.array(digits), pa.string()), 10, "0")
    return pc.binary_join_element_wise("BANK", countries, num, "-")


def assemble(n: int, parts: list[tuple[np.ndarray, pa.Array]], typ: pa.DataType = pa.string()) -> pa.Array:
    """Place each part's values at its row indices; rows no part covers are null."""
    covered = np.zeros(n, dtype=bool)
    idx_list: list[np.ndarray] = []
    arrs: list[pa.Array] = []
    for idx, arr in parts:
        if len(idx):
            covered[idx] = True
            idx_list.append(np.asarray(idx, dtype=np.int64))
            arrs.append(arr.cast(typ) if arr.type != typ else arr)
    missing = np.flatnonzero(~covered)
    if len(missing):
        idx_list.append(missing)
        arrs.append(pa.nulls(len(missing), typ))
    if not arrs:
        return pa.nulls(n, typ)
    positions = np.concatenate(idx_list)
    inverse = np.empty(n, dtype=np.int64)
    inverse[positions] = np.arange(n, dtype=np.int64)
    return pc.take(pa.concat_arrays(arrs), pa.array(inverse))


# ---- scalar twins (same strings as the vectorised builders, for planted rows) -----------------
def mix64_int(x: int) -> int:
    """splitmix64 finaliser on one Python int (identical to `mix64`)."""
    z = (x + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def key_int(seed: int, ns: str, *parts: int) -> int:
    """Scalar `keys`."""
    out = mix64_int((seed * 1_000_003 + NS[ns]) & _MASK)
    for p in parts:
        out = mix64_int(out ^ (int(p) & _MASK))
    return out


def bytes_int(k: int, nbytes: int) -> bytes:
    """Scalar `random_bytes`."""
    words = -(-nbytes // 8)
    raw = b"".join(mix64_int((k + ((j + 1) * 0x9E3779B97F4A7C15)) & _MASK).to_bytes(8, "little")
                   for j in range(words))
    return raw[:nbytes]


def _alpha_one(k: int, alphabet: np.ndarray, length: int, prefix: str) -> str:
    table = alphabet.tobytes().decode()
    return prefix + "".join(table[b % len(table)] for b in bytes_int(k, length))


def address_one(k: int, family: str) -> str:
    """Scalar `addresses`."""
    if family == "evm":
        return "0x" + bytes_int(k, 20).hex()
    if family == "tron":
        return _alpha_one(k, BASE58, 33, "T")
    if family == "solana":
        return _alpha_one(k, BASE58, 44, "")
    if family in ("bitcoin", "litecoin"):
        seg, legacy = ("bc1q", "1") if family == "bitcoin" else ("ltc1q", "L")
        if k % 100 < 18:
            return _alpha_one(k ^ 0xA5A5, BASE58, 33, legacy)
        return _alpha_one(k, BECH32, 38, seg)
    raise ValueError(f"unknown chain family {family!r}")


def device_one(k: int) -> str:
    """Scalar `devices`."""
    return "DEV-" + bytes_int(k, 4).hex()


def ip_one(k: int, first_octets: tuple[int, ...]) -> str:
    """Scalar `ips`."""
    b = bytes_int(k, 4)
    first = first_octets[b[0] % len(first_octets)]
    second = 16 + b[1] % 16 if first == 172 else b[1]
    return f"{first}.{second}.{b[2]}.{1 + b[3] % 254}"


def bank_one(k: int, country: str) -> str:
    """Scalar `bank_refs`."""
    return f"BANK-{country}-{k % 10**10:010d}"
