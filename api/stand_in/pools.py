"""The fixed vocabularies records draw from, and the contract's timestamp format.

The shipped application calls Faker for every field (~100 us each): fine for 1,000
records, far too slow for millions. Faker's en_US lists are read once here and records
index into them, so Faker is never called on the request path.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import numpy.typing as npt
from faker import Faker

GENDERS: tuple[str, ...] = (
    "Male", "Female", "Non-binary", "Genderqueer", "Genderfluid", "Agender",
    "Bigender", "Gender questioning", "Gender nonconforming",
)  # fmt: skip
GENRES: tuple[str, ...] = (
    "Rock", "Pop", "Hip Hop", "Jazz", "Electronic", "Classical", "Country", "Blues",
    "R&B", "Reggae", "Folk", "Metal", "Punk", "Funk", "Indie", "Alternative", "Techno",
)  # fmt: skip


def _faker_lists() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    fake = Faker("en_US")
    person = fake.provider("faker.providers.person")
    lorem = fake.provider("faker.providers.lorem")
    internet = fake.provider("faker.providers.internet")
    assert person is not None and lorem is not None and internet is not None
    # example.* like Faker's safe_email(): no real mailbox can ever be hit.
    return (
        tuple(lorem.word_list),
        tuple(person.first_names),
        tuple(person.last_names),
        tuple(internet.safe_domain_names),
    )


WORDS, FIRST_NAMES, LAST_NAMES, EMAIL_DOMAINS = _faker_lists()
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def format_timestamp(moment: datetime) -> str:
    """ISO 8601, naive, always 6-digit microseconds (isoformat() drops ``.000000``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def format_timestamps(microseconds: npt.NDArray[np.int64]) -> list[str]:
    """The same format as :func:`format_timestamp`, for microseconds since the Unix epoch."""
    moments = microseconds.astype("datetime64[us]")
    return np.datetime_as_string(moments, unit="us").tolist()
