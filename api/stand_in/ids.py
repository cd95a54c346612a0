"""Record ids: a random permutation of the id range, read in order as records are born.

A prefix of one permutation is unique by construction, and day d+1 (more records) reads a
longer prefix of the same permutation, so ids are stable across days. Another universe
permutes the same range with another key, so some of its ids collide with this one's.
"""

from __future__ import annotations

import numpy as np

from api.stand_in.draws import I64, stream_key
from api.stand_in.timeline import id_range


def draw_ids(seed: int, universe: int, endpoint: str, day0_size: int, count: int) -> I64:
    """The first ``count`` ids of ``endpoint`` (1-based, like the shipped generator)."""
    # PCG64's stream is fixed for a pinned numpy (api/requirements.txt), on any machine.
    rng = np.random.Generator(np.random.PCG64(int(stream_key(seed, universe, "ids", endpoint))))
    # int32 halves the memory of the shuffle (10M ids for 1M records: 40 MB, briefly).
    permutation = rng.permutation(np.arange(1, id_range(day0_size) + 1, dtype=np.int32))
    return permutation[:count].astype(np.int64)
