"""Deterministic fake data behind the three endpoints.

The shipped application draws its records with Faker. Calling Faker once per field
costs ~100 us, which is fine for 1,000 records but not for the millions needed to
measure the pipeline at scale, so here Faker supplies its en_US word and name
lists once and every record draws from them with its own ``random.Random``.

Only the ids are materialised when the app is created (a few bytes per record);
each record is rebuilt on demand from ``(seed, kind, index)``. That keeps memory
flat at any volume while still giving the contract's guarantees: the same seed
yields the same bytes, and items keep their order for the life of the process.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, overload

from faker import Faker

GENDERS: tuple[str, ...] = (
    "Male", "Female", "Non-binary", "Genderqueer", "Genderfluid", "Agender",
    "Bigender", "Gender questioning", "Gender nonconforming",
)  # fmt: skip
GENRES: tuple[str, ...] = (
    "Rock", "Pop", "Hip Hop", "Jazz", "Electronic", "Classical", "Country", "Blues",
    "R&B", "Reggae", "Folk", "Metal", "Punk", "Funk", "Indie", "Alternative", "Techno",
)  # fmt: skip

HISTORY_ITEMS = 5
# Every history needs HISTORY_ITEMS distinct track ids, so fewer tracks cannot work.
MIN_RECORDS = HISTORY_ITEMS
# Ids are the only per-record memory (8 bytes each per endpoint); this bounds it.
MAX_RECORDS = 10_000_000
# The shipped generator draws ids in 1..100000; beyond that many records the range
# has to grow or ids could not stay unique.
ID_RANGE = 100_000

# A fixed window (not "now") so a seed gives the same bytes on any day. It ends
# before the day this stand-in was written so no timestamp lies in the future.
WINDOW_START = datetime(2025, 1, 1)
WINDOW_END = datetime(2026, 11, 1)
_WINDOW_US = (WINDOW_END - WINDOW_START) // timedelta(microseconds=1)
_HISTORY_MAX_AGE_US = timedelta(days=90) // timedelta(microseconds=1)

Record = dict[str, Any]


def format_timestamp(moment: datetime) -> str:
    """ISO 8601, naive, always 6-digit microseconds (isoformat() drops ``.000000``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass(frozen=True)
class _Pools:
    words: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    email_domains: tuple[str, ...]


def _load_pools() -> _Pools:
    fake = Faker("en_US")
    person = fake.provider("faker.providers.person")
    lorem = fake.provider("faker.providers.lorem")
    internet = fake.provider("faker.providers.internet")
    assert person is not None and lorem is not None and internet is not None
    return _Pools(
        words=tuple(lorem.word_list),
        first_names=tuple(person.first_names),
        last_names=tuple(person.last_names),
        # example.* like Faker's safe_email(): no real mailbox can ever be hit.
        email_domains=tuple(internet.safe_domain_names),
    )


_POOLS = _load_pools()


class RecordSequence(Sequence[Record]):
    """A read-only list of records built on access; slicing is O(slice length)."""

    def __init__(self, length: int, make: Callable[[int], Record]) -> None:
        self._length = length
        self._make = make

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...
    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [self._make(i) for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("record index out of range")
        return self._make(index)

    def __iter__(self) -> Iterator[Record]:
        return (self._make(i) for i in range(self._length))


@dataclass(frozen=True)
class _Universe:
    """The ids fixed at app creation; records are pure functions of (seed, index)."""

    seed: int
    track_ids: array[int]
    user_ids: array[int]

    def _rng(self, kind: str, index: int) -> random.Random:
        # A str seed is hashed with SHA-512, so this is stable across processes
        # (unlike hash(), which PYTHONHASHSEED randomises).
        return random.Random(f"{self.seed}:{kind}:{index}")

    def track(self, index: int) -> Record:
        rng = self._rng("track", index)
        return {
            "id": self.track_ids[index],
            "name": rng.choice(_POOLS.words),
            "artist": _person_name(rng),
            "songwriters": _person_name(rng),
            "duration": f"{rng.randrange(60):02d}:{rng.randrange(60):02d}",
            # Shipped behaviour: a random word, not a value from GENRES.
            "genres": rng.choice(_POOLS.words),
            "album": rng.choice(_POOLS.words),
            # Drawn independently, as shipped: updated_at may precede created_at.
            "created_at": format_timestamp(_moment(rng)),
            "updated_at": format_timestamp(_moment(rng)),
        }

    def user(self, index: int) -> Record:
        rng = self._rng("user", index)
        return {
            "id": self.user_ids[index],
            "first_name": rng.choice(_POOLS.first_names),
            "last_name": rng.choice(_POOLS.last_names),
            # Independent of the name fields, like Faker's email() in the shipped app.
            "email": _email(rng),
            "gender": rng.choice(GENDERS),
            "favorite_genres": rng.choice(GENRES),
            "created_at": format_timestamp(_moment(rng)),
            "updated_at": format_timestamp(_moment(rng)),
        }

    def listen_history(self, index: int) -> Record:
        rng = self._rng("listen_history", index)
        created = _moment(rng)
        # Unlike tracks/users, histories promise updated_at >= created_at.
        room_us = min(
            _HISTORY_MAX_AGE_US, (WINDOW_END - created) // timedelta(microseconds=1)
        )
        updated = created + timedelta(microseconds=rng.randrange(room_us + 1))
        return {
            "user_id": self.user_ids[index],
            "items": rng.sample(self.track_ids, HISTORY_ITEMS),
            "created_at": format_timestamp(created),
            "updated_at": format_timestamp(updated),
        }


def _moment(rng: random.Random) -> datetime:
    return WINDOW_START + timedelta(microseconds=rng.randrange(_WINDOW_US))


def _person_name(rng: random.Random) -> str:
    return f"{rng.choice(_POOLS.first_names)} {rng.choice(_POOLS.last_names)}"


def _email(rng: random.Random) -> str:
    # The same four user-name shapes as Faker's en_US internet provider.
    first = rng.choice(_POOLS.first_names).lower()
    last = rng.choice(_POOLS.last_names).lower()
    shape = rng.randrange(4)
    if shape == 0:
        user = f"{last}.{first}"
    elif shape == 1:
        user = f"{first}.{last}"
    elif shape == 2:
        user = f"{first}{rng.randrange(100):02d}"
    else:
        user = f"{rng.choice('abcdefghijklmnopqrstuvwxyz')}{last}"
    return f"{user}@{rng.choice(_POOLS.email_domains)}"


@dataclass(frozen=True)
class Dataset:
    tracks: RecordSequence
    users: RecordSequence
    listen_history: RecordSequence


def generate(records: int, seed: int) -> Dataset:
    """Fix the id universe for ``records`` per endpoint; one history per user."""
    if not MIN_RECORDS <= records <= MAX_RECORDS:
        raise ValueError(
            f"records must be in {MIN_RECORDS}..{MAX_RECORDS}, got {records}"
        )
    ids_rng = random.Random(f"{seed}:ids")
    id_range = range(1, max(ID_RANGE, records) + 1)
    universe = _Universe(
        seed=seed,
        track_ids=array("q", ids_rng.sample(id_range, records)),
        user_ids=array("q", ids_rng.sample(id_range, records)),
    )
    return Dataset(
        tracks=RecordSequence(records, universe.track),
        users=RecordSequence(records, universe.user),
        listen_history=RecordSequence(records, universe.listen_history),
    )
