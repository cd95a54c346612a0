"""The compose stack for real: images built here, the servers in containers, the daily job
in the runner, twice with a `compose-down`/`compose-up` between, through the make targets a
person uses (containers/containers.mk); then everything it made is removed, images and build
cache included (unless a `make compose-up` stack still uses the images).

Needs a Docker engine: one that answers, or Debian's started here when root (installed
first if absent), without a bridge; skipped, saying why, otherwise. The stack gets a
project name, ports and secrets of its own, so a `make compose-up` stack is left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests
from dotenv import dotenv_values

from api.stand_in.settings import load_settings
from containers import daemon
from containers.stack import EXAMPLE, IMAGE_LABEL, compose_images, write_env
from orchestrate.project import PROJECT_ROOT
from tests import el_harness as el
from tests.test_daily_job import table_counts

PROJECT = "moovitamix-test"
# Apart from `make compose-up`'s (5481, 8481, 5581) and every other server of the project.
PORTS = {
    "WAREHOUSE_PUBLISHED_PORT": os.environ.get("CONTAINERS_TEST_WAREHOUSE_PORT", "5482"),
    "MOOVITAMIX_API_PUBLISHED_PORT": os.environ.get("CONTAINERS_TEST_API_PORT", "8482"),
    "MLFLOW_PUBLISHED_PORT": os.environ.get("CONTAINERS_TEST_MLFLOW_PORT", "5582"),
}
MODEL = "moovitamix-als"
GiB = 1 << 30
# Seen on a cold build here: images 2.95 GB and build cache 3.3 GB, 6.6 GB at the peak of
# the first run; with room left for the tests after this one.
DISK_NEEDED = 8 * GiB
STATE_ID = "ci:tap-moovitamix-to-target-postgres"  # the ci environment's state id
JOB_SECONDS = 1500


@dataclass
class Stack:
    env_file: Path
    settings: dict[str, str]

    def make(self, *targets: str, **variables: str) -> subprocess.CompletedProcess[str]:
        """A make target of containers.mk on this stack, outside make test's own settings."""
        inherited = {name: value for name, value in os.environ.items()
                     if name not in self.settings and not name.startswith(("WAREHOUSE_", "MELTANO_", "MLFLOW_"))}
        arguments = [f"{name}={value}" for name, value in
                     {"COMPOSE_PROJECT": PROJECT, "COMPOSE_ENV_FILE": str(self.env_file), **variables}.items()]
        return subprocess.run(["make", "--no-print-directory", *targets, *arguments], cwd=PROJECT_ROOT,
                              env=inherited, capture_output=True, text=True, timeout=JOB_SECONDS, check=False)

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.settings["WAREHOUSE_PUBLISHED_PORT"],
                               user=self.settings["WAREHOUSE_USER"], password=self.settings["WAREHOUSE_PASSWORD"],
                               dbname=self.settings["WAREHOUSE_DB"], autocommit=True, connect_timeout=15)

    def mlflow(self, path: str, **params: str) -> dict:
        url = f"http://127.0.0.1:{self.settings['MLFLOW_PUBLISHED_PORT']}/api/2.0/mlflow/{path}"
        response = requests.get(url, params=params, timeout=30)
        response.raise_for_status()
        return response.json()


def free_for_docker() -> int:
    """Free bytes on the file system of the engine's data root (its images, its build cache)."""
    root = subprocess.run([daemon.docker_client(), "info", "--format", "{{.DockerRootDir}}"],
                          capture_output=True, text=True, check=True).stdout.strip()
    return shutil.disk_usage(root).free


def project_images() -> list[str]:
    listed = subprocess.run([daemon.docker_client(), "image", "ls", "--all", "--quiet", "--filter",
                             f"label={IMAGE_LABEL}"], capture_output=True, text=True, check=True)
    return listed.stdout.split()


def images_used_by_another_stack() -> bool:
    listed = subprocess.run([daemon.docker_client(), "ps", "--all", "--format",
                             '{{.Image}}\t{{.Label "com.docker.compose.project"}}'],
                            capture_output=True, text=True, check=True)
    used = [line.split("\t") for line in listed.stdout.splitlines()]
    return any(image in compose_images() and project != PROJECT for image, project in used)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"


@pytest.fixture(scope="module")
def engine() -> Iterator[None]:
    try:
        started = daemon.start()
    except daemon.Unavailable as problem:
        pytest.skip(f"no Docker engine: {problem}")
    free = free_for_docker()
    if free < DISK_NEEDED:
        if started is not None:
            daemon.stop(started)
        pytest.skip(f"{free / GiB:.1f} GiB free where Docker keeps its images; the stack's build needs"
                    f" {DISK_NEEDED / GiB:.0f} GiB, and a full disk would fail every test after this one")
    yield
    if started is not None:
        daemon.stop(started)


@pytest.fixture(scope="module")
def stack(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("compose")
    env_file = folder / "compose.env"
    write_env(env_file)
    with env_file.open("a") as extra:  # later lines win: this stack's own ports
        extra.write("".join(f"{name}={port}\n" for name, port in PORTS.items()))
    settings = {name: value or "" for name, value in dotenv_values(env_file).items()}
    assert settings["MELTANO_ENVIRONMENT"] == "ci" and set(dotenv_values(EXAMPLE)) <= set(settings)
    created = Stack(env_file, settings)
    created.make("compose-down", VOLUMES="1", KEEP_DAEMON="1")  # what a killed earlier run left
    yield created
    if images_used_by_another_stack():  # the images are shared by tag with `make compose-up`'s
        removed = created.make("compose-down", VOLUMES="1", KEEP_DAEMON="1")
        assert removed.returncode == 0, output(removed)
        return
    # Everything the test made goes, its images and build cache too: they would hold ~6 GB
    # of disk through every test after this one.
    removed = created.make("compose-down", VOLUMES="1", IMAGES="1", KEEP_DAEMON="1")
    assert removed.returncode == 0, output(removed)
    assert "build cache: Total reclaimed space" in removed.stdout, output(removed)
    assert project_images() == [], output(removed)


@pytest.fixture(scope="module")
def first_run(stack: Stack) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = stack.make("compose-up")
    print(f"first compose-up (build, servers, daily job): {time.monotonic() - started:.0f} s")
    return result


@pytest.fixture(scope="module")
def second_run(stack: Stack, first_run: subprocess.CompletedProcess[str]) -> dict:
    """Down (volumes kept), up again: a new runner container runs the job on the same data."""
    assert first_run.returncode == 0, output(first_run)
    with stack.connect() as connection:
        before = {"counts": table_counts(connection), "bookmarks": bookmarks(connection)}
    down = stack.make("compose-down", KEEP_DAEMON="1")
    assert down.returncode == 0, output(down)
    started = time.monotonic()
    result = stack.make("compose-up")
    print(f"second compose-up (images cached, data kept): {time.monotonic() - started:.0f} s")
    return {"result": result, **before}


def bookmarks(connection: psycopg.Connection) -> dict:
    row = connection.execute("select completed_state from meltano.state where state_id = %s", (STATE_ID,)).fetchone()
    return json.loads(row[0])["singer_state"]["bookmarks"] if row else {}


def records_loaded(connection: psycopg.Connection, run: int) -> dict[str, float]:
    """Records the target loaded per stream in the `run`-th run of the ledger (0: the first).
    The tap reads every page either way (the API has no filter): what the bookmarks save
    is what it emits past them."""
    run_id = connection.execute("select run_id from ops.pipeline_runs order by started_at offset %s limit 1",
                                (run,)).fetchone()[0]
    return dict(connection.execute("select subject, value from ops.pipeline_figures"
                                   " where run_id = %s and metric = 'records_loaded'", (run_id,)).fetchall())


def test_the_daily_job_succeeds_in_the_runner_container(first_run: subprocess.CompletedProcess[str]) -> None:
    assert first_run.returncode == 0, output(first_run)
    assert "daily run: SUCCESS" in first_run.stdout


def test_the_warehouse_holds_the_stand_ins_truth(stack: Stack, first_run: subprocess.CompletedProcess[str]) -> None:
    assert first_run.returncode == 0, output(first_run)
    settings = load_settings({"MOOVITAMIX_API_PORT": stack.settings["MOOVITAMIX_API_PUBLISHED_PORT"]})
    with stack.connect() as connection:
        el.assert_raw_equals(connection, el.truth(settings), el.rejected_keys(connection, el.served(settings)))
        recommendations = connection.execute(
            "select count(distinct user_id), count(*), min(model_version), max(model_version)"
            " from ml.user_recommendations").fetchone()
    assert recommendations[:2] == (settings.users, 10 * settings.users)
    champion = stack.mlflow("registered-models/alias", name=MODEL, alias="champion")["model_version"]
    assert recommendations[2] == recommendations[3] == champion["version"], (recommendations, champion)


def test_containers_run_as_their_own_user_and_hold_no_secret(stack: Stack, first_run) -> None:
    for image in ("moovitamix/runner:1", "moovitamix/stand-in:1"):
        user = subprocess.run([daemon.docker_client(), "image", "inspect", "--format", "{{.Config.User}}", image],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert user == "app", image
        inside = subprocess.run([daemon.docker_client(), "run", "--rm", "--network", "host", "--entrypoint", "sh",
                                 image, "-c", "id -u; env; ls -a /app; cat /app/.env 2>/dev/null; true"],
                                capture_output=True, text=True, check=True).stdout
        assert inside.splitlines()[0] == "10001"
        assert stack.settings["WAREHOUSE_PASSWORD"] not in inside and stack.settings["PII_SALT"] not in inside
        assert "PIP_CERT" not in inside and ".env\n" not in inside and ".git\n" not in inside


def test_every_image_carries_the_projects_label_and_the_build_prunes_by_it(
        first_run: subprocess.CompletedProcess[str]) -> None:
    """The label is how a rebuild finds the images it untagged (tests/containers/test_images.py)."""
    assert first_run.returncode == 0, output(first_run)
    key, _, value = IMAGE_LABEL.partition("=")
    base_image = os.environ.get("BASE_IMAGE", "moovitamix/debian:bookworm")  # a registry's is not the project's
    for image in [*compose_images(), *([base_image] if base_image.startswith("moovitamix/") else [])]:
        labels = subprocess.run([daemon.docker_client(), "image", "inspect", "--format", "{{json .Config.Labels}}",
                                 image], capture_output=True, text=True, check=True).stdout
        assert (json.loads(labels) or {}).get(key) == value, (image, labels)
    assert "untagged images of the project" in first_run.stdout


def test_data_survive_down_and_up_and_the_next_run_is_incremental(stack: Stack, second_run: dict) -> None:
    result = second_run["result"]
    assert result.returncode == 0, output(result)
    assert "daily run: SUCCESS" in result.stdout
    assert set(el.STREAMS) <= set(second_run["bookmarks"]), "no bookmark kept through down/up"
    with stack.connect() as connection:
        assert table_counts(connection) == second_run["counts"]
        first, second = records_loaded(connection, 0), records_loaded(connection, 1)
        runs = connection.execute("select count(*) from ops.pipeline_runs where status = 'success'").fetchone()[0]
    assert runs == 2
    # From the bookmarks on: only what is not older than them is loaded again.
    assert all(second.get(stream, 0) < first[stream] for stream in el.STREAMS), (first, second)
    # The registry (and the champion's artifacts) lived through down/up on their volume.
    champion = stack.mlflow("registered-models/alias", name=MODEL, alias="champion")["model_version"]
    assert stack.mlflow("model-versions/get", name=MODEL, version="1")["model_version"]["status"] == "READY"
    assert int(champion["version"]) >= 1
