"""The local warehouse's server settings follow the machine it starts on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from local import postgres
from local.postgres import LocalPostgres, server_settings

GB = 2**30


def megabytes(value: str) -> int:
    assert value.endswith("MB"), value
    return int(value.removesuffix("MB"))


def test_settings_of_this_project_machine() -> None:
    settings = server_settings(24 * GB, 2)
    assert settings["shared_buffers"] == "1536MB"
    assert settings["effective_cache_size"] == "12288MB"
    assert settings["work_mem"] == "384MB"
    assert settings["maintenance_work_mem"] == "768MB"
    assert settings["max_parallel_workers_per_gather"] == "1"
    assert settings["max_parallel_workers"] == "2"
    # Tables created and filled in one transaction skip the WAL only at this level.
    assert (settings["wal_level"], settings["max_wal_senders"]) == ("minimal", "0")


@pytest.mark.parametrize("memory_gb,cpus", [(1, 1), (4, 2), (24, 2), (64, 16), (512, 64)])
def test_settings_grow_with_the_machine_within_bounds(memory_gb: int, cpus: int) -> None:
    settings = server_settings(memory_gb * GB, cpus)
    total_mb = memory_gb * 1024
    # Postgres' own defaults are the floor; a big machine still leaves most memory to others.
    assert 128 <= megabytes(settings["shared_buffers"]) <= min(2048, max(128, total_mb // 16))
    assert 4 <= megabytes(settings["work_mem"]) <= 1024
    assert 64 <= megabytes(settings["maintenance_work_mem"]) <= 2048
    assert megabytes(settings["shared_buffers"]) < megabytes(settings["effective_cache_size"])
    assert 1 <= int(settings["max_parallel_workers_per_gather"]) <= cpus
    assert int(settings["max_parallel_workers"]) == cpus


def test_start_passes_the_settings_to_the_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "cluster").mkdir()
    (tmp_path / "cluster" / "PG_VERSION").write_text("15\n")
    server = LocalPostgres(port=5999, data_dir=tmp_path, user="u", database="d", bin_dir=tmp_path, password="p")
    calls: list[tuple[str, ...]] = []

    def fake_run(self: LocalPostgres, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        calls.append((tool, *args))
        # pg_ctl status: not running; pg_ctl start: started.
        return subprocess.CompletedProcess(args, 3 if "status" in args else 0, "", "")

    monkeypatch.setattr(LocalPostgres, "_run", fake_run)
    monkeypatch.setattr(LocalPostgres, "ensure_database", lambda self: None)
    monkeypatch.setattr(postgres, "port_in_use", lambda port: False)
    monkeypatch.setattr(postgres, "machine_resources", lambda: (8 * GB, 4))
    server.start()

    start = next(call for call in calls if call[:2] == ("pg_ctl", "start"))
    options = start[start.index("-o") + 1]
    for name, value in server_settings(8 * GB, 4).items():
        assert f"-c {name}={value}" in options


def test_a_server_without_the_owners_password_does_not_start(tmp_path: Path) -> None:
    server = LocalPostgres(port=5999, data_dir=tmp_path, user="u", database="d", bin_dir=tmp_path)
    with pytest.raises(postgres.StartupError, match="WAREHOUSE_PASSWORD is not set"):
        server.start()
