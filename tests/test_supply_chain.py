"""Reproducible installs: every venv installs its third-party packages from a lock file,
each package with its hashes, and every lock still holds the pins of its input."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from orchestrate.project import PROJECT_ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")
# Each lock and what it is compiled from (the Makefile's `lock` target).
LOCKS = {
    "requirements.lock": ["requirements.txt", "api/requirements.txt"],
    "extract/target-postgres.lock": ["extract/target-postgres.in"],
    "transform/dbt-postgres.lock": ["transform/dbt-postgres.in"],
    "quality/soda.lock": ["quality/soda.in"],
    "orchestrate/dags/requirements.lock": ["orchestrate/dags/requirements.txt"],
    "extract/bookmark-guard/requirements.lock": ["extract/bookmark-guard/pyproject.toml"],
    "extract/tap-moovitamix/requirements.lock": ["extract/tap-moovitamix/pyproject.toml"],
    "ml/requirements.lock": ["ml/pyproject.toml"],
}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def exact_pins(source: Path) -> dict[str, str]:
    if source.suffix == ".toml":
        lines = tomllib.loads(source.read_text())["project"]["dependencies"]
    else:
        lines = [line.strip() for line in source.read_text().splitlines()]
    return {normalized(m.group(1)): m.group(2) for line in lines if (m := PIN.match(line))}


def locked(lock: Path) -> dict[str, str]:
    """name -> version of every package of the lock, after checking each has a hash."""
    text = lock.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    versions = {}
    for entry in entries:
        match = PIN.match(entry)
        assert match, f"{lock}: not a pinned requirement: {entry[:80]!r}"
        assert "--hash=sha256:" in entry, f"{lock}: {match.group(1)} has no hash"
        versions[normalized(match.group(1))] = match.group(2)
    return versions


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_each_lock_pins_every_package_with_a_hash_and_keeps_its_inputs_pins(lock: str) -> None:
    versions = locked(PROJECT_ROOT / lock)
    for source in LOCKS[lock]:
        for name, version in exact_pins(PROJECT_ROOT / source).items():
            assert versions.get(name) == version, f"{lock} has {name} {versions.get(name)}, {source} pins {version}"


def test_every_plugin_installs_from_its_lock_with_hash_checking() -> None:
    meltano = yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text())
    pip_urls = {}
    for included in meltano["include_paths"]:
        plugins = yaml.safe_load((PROJECT_ROOT / included).read_text()).get("plugins", {})
        pip_urls |= {p["name"]: p["pip_url"] for kind in plugins.values() for p in kind if "pip_url" in p}
    assert len(pip_urls) == 6
    for name, pip_url in pip_urls.items():
        # A path relative to the project: the same pip_url (hence no reinstall) wherever it lives.
        match = re.fullmatch(r"--require-hashes -r (\S+\.lock)", pip_url)
        assert match and match.group(1) in LOCKS, (name, pip_url)
