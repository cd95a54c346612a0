"""Counter-based random draws: every value is a pure function of (key, stream, index, salt).

A record's fields must not depend on how many other records exist (day d+1 extends day d)
nor on the order pages are requested in, and a page must be built without generating the
records before it. Hashing the record's index with SplitMix64 gives all three, vectorised
with numpy, with integer arithmetic only so the bytes are the same on every machine.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Index = npt.ArrayLike

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SALT = np.uint64(0xD1B54A32D192ED03)


def _mix(x: U64) -> U64:
    """SplitMix64's finaliser; uint64 arithmetic wraps, which is the point."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def stream_key(*parts: object) -> np.uint64:
    """A 64-bit key from text, stable across processes (unlike hash())."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


class Draws:
    """Independent streams of draws for one (seed, universe)."""

    def __init__(self, seed: int, universe: int) -> None:
        self._seed = seed
        self._universe = universe
        self._keys: dict[str, np.uint64] = {}

    def _key(self, stream: str) -> np.uint64:
        key = self._keys.get(stream)
        if key is None:
            key = self._keys[stream] = stream_key(self._seed, self._universe, stream)
        return key

    def bits(self, stream: str, index: Index, salt: Index = 0) -> U64:
        i = np.asarray(index, dtype=np.uint64)
        s = np.asarray(salt, dtype=np.uint64)
        # Scalars (0-d arrays) warn on the wrap-around that arrays do silently.
        with np.errstate(over="ignore"):
            return _mix(_mix(i * _GOLDEN + self._key(stream)) + s * _SALT)

    def below(self, stream: str, index: Index, high: Index, salt: Index = 0) -> I64:
        """Integers uniform in [0, high) (modulo bias below 2**-40 for the sizes used here)."""
        return (self.bits(stream, index, salt) % np.asarray(high, dtype=np.uint64)).astype(np.int64)

    def chance(self, stream: str, index: Index, rate: float, salt: Index = 0) -> npt.NDArray[np.bool_]:
        """True with probability ``rate``; the threshold is exact, so rate 0 is never and 1 always."""
        threshold = np.uint64(min(int(rate * 2**53), 2**53))
        hit: npt.NDArray[np.bool_] = (self.bits(stream, index, salt) >> np.uint64(11)) < threshold
        return hit | (rate >= 1.0)
