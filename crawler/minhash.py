"""MinHash signatures and LSH band keys: the candidate index for near-duplicate copies.

Pure functions. An article's band keys go into an indexed table; a newcomer's copies are
the archived articles sharing at least one key, verified with `crawler.dedupe.similarity`.
Finding them is a handful of index probes whatever the archive's size.

The signature covers the opening PREFIX_TOKENS tokens of the normalised text, as
`similarity` does: a syndicated copy keeps the opening and loses, changes or adds the
ending, so on its opening it scores a Jaccard similarity near 1 where on whole texts a copy
cut in half would score 0.5. Tokens are Latin words or single CJK characters (Japanese has
no spaces), so Japanese is shingled by SHINGLE characters.

With BANDS bands of ROWS rows, two texts of Jaccard similarity J share a key with
probability 1 - (1 - J^ROWS)^BANDS: 0.89 at J=0.6, 0.98 at 0.7, 0.9995 at 0.8, and 0.0016
at 0.1 (bench/dedupe.py measures the copies' J). The constants are part of the stored
index: changing any of them needs `wirewatch dedupe --rebuild`.
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np

from crawler.dedupe import tokens

SHINGLE = 3
PREFIX_TOKENS = 200
BANDS = 16
ROWS = 4
PERMUTATIONS = BANDS * ROWS
# Fewer shingles than this and there is nothing to index (`similarity` calls such texts too
# short as well).
MIN_SHINGLES = 10

# One 64-bit seed per permutation, derived from fixed strings: stable across processes,
# Python and numpy versions (the keys are stored).
_SEEDS = np.array(
    [int.from_bytes(hashlib.blake2b(f"wirewatch-minhash-{i}".encode(), digest_size=8).digest(), "little")
     for i in range(PERMUTATIONS)],
    dtype=np.uint64,
)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection on uint64 that spreads every input bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def shingle_hashes(text: str) -> np.ndarray:
    """64-bit hashes of the SHINGLE-token shingles of the text's opening (unique, unsorted)."""
    words = tokens(text)[:PREFIX_TOKENS]
    if len(words) < SHINGLE:
        return np.empty(0, dtype=np.uint64)
    h = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words))
    with np.errstate(over="ignore"):
        combined = h[: len(h) - SHINGLE + 1].copy()
        for offset in range(1, SHINGLE):
            combined = _mix(combined * np.uint64(0x9E3779B97F4A7C15) + h[offset: len(h) - SHINGLE + 1 + offset])
    return np.unique(combined)


def signature(text: str) -> np.ndarray | None:
    """PERMUTATIONS minima, or None when the opening has fewer than MIN_SHINGLES shingles."""
    shingles = shingle_hashes(text)
    if len(shingles) < MIN_SHINGLES:
        return None
    with np.errstate(over="ignore"):
        return _mix(shingles[None, :] ^ _SEEDS[:, None]).min(axis=1)


def band_keys(sig: np.ndarray | None) -> list[int]:
    """One signed 64-bit key per band (bigint-ready); band number included, so band 1's
    values never meet band 2's."""
    if sig is None:
        return []
    keys = []
    for band in range(BANDS):
        chunk = sig[band * ROWS:(band + 1) * ROWS].tobytes() + band.to_bytes(2, "little")
        keys.append(int.from_bytes(hashlib.blake2b(chunk, digest_size=8).digest(), "little", signed=True))
    return keys


def text_band_keys(text: str) -> list[int]:
    return band_keys(signature(text))


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Share of equal minima: an unbiased estimate of the openings' Jaccard similarity."""
    return float(np.mean(a == b))
