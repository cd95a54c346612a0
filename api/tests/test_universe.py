"""Universe reset: another universe is a new world whose ids partly collide with the old one."""

from __future__ import annotations

from api.stand_in.settings import load_settings
from api.stand_in.world import World, records


def test_another_universe_draws_new_ids_some_colliding() -> None:
    first = records(load_settings({"MOOVITAMIX_API_UNIVERSE": "0"}))
    second = records(load_settings({"MOOVITAMIX_API_UNIVERSE": "1"}))
    for endpoint in ("tracks", "users"):
        old = {record["id"]: record for record in first[endpoint]}
        new = {record["id"]: record for record in second[endpoint]}
        shared = set(old) & set(new)
        # 1,000 ids drawn from 1..100000 twice: about 10 in common.
        assert 1 <= len(shared) <= 40, len(shared)
        assert all(old[key]["created_at"] != new[key]["created_at"] for key in shared)


def test_universe_new_draws_a_different_world_at_each_start() -> None:
    one = load_settings({"MOOVITAMIX_API_UNIVERSE": "new"}).universe
    two = load_settings({"MOOVITAMIX_API_UNIVERSE": "new"}).universe
    assert one != two and one > 0 and two > 0
    assert World(load_settings({"MOOVITAMIX_API_UNIVERSE": str(one)})).page("tracks", 0, 5) != World(
        load_settings({"MOOVITAMIX_API_UNIVERSE": str(two)})
    ).page("tracks", 0, 5)
