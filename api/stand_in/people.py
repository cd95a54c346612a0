"""Users: their records and (the oracle's ground truth) their preferred genres.

Each user prefers 1 to 3 distinct genres, the first being the ``favorite_genres`` the API
shows; in realistic mode most of their listens come from those genres (api.stand_in.histories).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from api.stand_in.columns import pick, updated_at
from api.stand_in.draws import I64, Draws
from api.stand_in.ids import draw_ids
from api.stand_in.pools import EMAIL_DOMAINS, FIRST_NAMES, GENDERS, GENRES, LAST_NAMES, LETTERS, format_timestamps
from api.stand_in.settings import Settings
from api.stand_in.timeline import SHIFT_CAPACITY, born_day, events, moment_in_day, size_at

Record = dict[str, Any]
MAX_PREFERRED = 3


class People:
    def __init__(self, settings: Settings, draws: Draws, today: int) -> None:
        self.settings = settings
        self.draws = draws
        self.today = today
        self.size = size_at(settings.users, settings.daily_new, today)
        self.ids = draw_ids(settings.seed, settings.universe, "users", settings.users, self.size + SHIFT_CAPACITY)

    def born(self, index: I64) -> I64:
        return born_day(index, self.settings.users, self.settings.daily_new, self.today)

    def favorite(self, index: I64) -> I64:
        return self.draws.below("user.favorite", index, len(GENRES))

    def preferences(self, index: I64) -> tuple[I64, I64]:
        """(how many, genre indices padded to 3 columns): distinct, favourite first."""
        draws = self.draws
        favorite = self.favorite(index)
        count = 1 + draws.below("user.preferred_count", index, MAX_PREFERRED)
        # Offsets 1..16 from the favourite, the second one skipping the first: all distinct.
        first = 1 + draws.below("user.preferred_1", index, len(GENRES) - 1)
        second = 1 + draws.below("user.preferred_2", index, len(GENRES) - 2)
        second = np.where(second >= first, second + 1, second)
        genres = np.stack([favorite, (favorite + first) % len(GENRES), (favorite + second) % len(GENRES)], axis=1)
        return count, genres

    def records(self, index: I64) -> list[Record]:
        s, draws = self.settings, self.draws
        born = self.born(index)
        version, last = events(draws, "user.update", index, born, self.today, s.daily_updates)
        created = moment_in_day(draws, "user.created", index, born)
        updated = updated_at(draws, "user.updated", index, born, created, version, last, s.mode)
        columns = zip(
            self.ids[index].tolist(),
            pick(FIRST_NAMES, draws.below("user.first", index, len(FIRST_NAMES))),
            # An update changes the last name and the email address.
            pick(LAST_NAMES, draws.below("user.last", index, len(LAST_NAMES), version)),
            _emails(draws, index, version),
            pick(GENDERS, draws.below("user.gender", index, len(GENDERS))),
            pick(GENRES, self.favorite(index)),
            format_timestamps(created),
            format_timestamps(updated),
            strict=True,
        )
        return [
            {
                "id": user_id,
                "first_name": first,
                "last_name": last_name,
                "email": email,
                "gender": gender,
                "favorite_genres": favorite,
                "created_at": created_at,
                "updated_at": updated_at,
            }
            for user_id, first, last_name, email, gender, favorite, created_at, updated_at in columns
        ]


def _emails(draws: Draws, index: I64, version: I64) -> list[str]:
    """The four user-name shapes of Faker's en_US internet provider, independent of the name fields."""
    firsts = pick(FIRST_NAMES, draws.below("user.email.first", index, len(FIRST_NAMES), version))
    lasts = pick(LAST_NAMES, draws.below("user.email.last", index, len(LAST_NAMES), version))
    shapes = draws.below("user.email.shape", index, 4, version).tolist()
    numbers = draws.below("user.email.number", index, 100, version).tolist()
    letters = pick(tuple(LETTERS), draws.below("user.email.letter", index, len(LETTERS), version))
    domains = pick(EMAIL_DOMAINS, draws.below("user.email.domain", index, len(EMAIL_DOMAINS), version))
    emails = []
    parts = zip(firsts, lasts, shapes, numbers, letters, domains, strict=True)
    for first_name, last_name, shape, number, letter, domain in parts:
        first, last = first_name.lower(), last_name.lower()
        user = (f"{last}.{first}", f"{first}.{last}", f"{first}{number:02d}", f"{letter}{last}")[shape]
        emails.append(f"{user}@{domain}")
    return emails
