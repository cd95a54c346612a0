"""Deployment files: docker-compose.yml and its host-network override, the images' files,
compose.env.example, the Meltano environments and the GitHub workflow, checked at the YAML
level (no GitHub runner here). `docker-compose config` also runs where Compose is
installed; tests/containers/ builds and runs the stack itself."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from orchestrate.job_definition import job_schedule
from orchestrate.project import PROJECT_ROOT
from orchestrate.roles import JOB_ROLES, password_variable

COMPOSE = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
PORTS = yaml.safe_load((PROJECT_ROOT / "docker-compose.override.yml").read_text())
HOST_NETWORK = yaml.safe_load((PROJECT_ROOT / "containers" / "compose.host-network.yml").read_text())
WORKFLOW = yaml.safe_load((PROJECT_ROOT / ".github" / "workflows" / "ops.yml").read_text())
MELTANO = yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text())
VARIABLE = re.compile(r"\$\{([A-Z_]+)")


def env_example() -> dict[str, str]:
    lines = (PROJECT_ROOT / "compose.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_compose_has_the_four_services_and_the_runner_runs_the_daily_job() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"warehouse", "api", "mlflow", "runner"}
    assert services["runner"]["command"][-1].endswith(
        ".venv/bin/python -m orchestrate.roles && exec .venv/bin/python -m orchestrate.run_daily")
    for role in JOB_ROLES:
        assert f"${{{password_variable(role)}:?" in (PROJECT_ROOT / "docker-compose.yml").read_text()
    assert {"warehouse", "api", "mlflow"} <= set(services["runner"]["depends_on"])
    assert services["runner"]["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert "/venv/bin/mlflow server " in services["mlflow"]["command"][-1]
    # Published ports only on the loopback interface, and only in the override Compose reads
    # by default (the host-network override takes its place).
    assert all("ports" not in service for service in services.values())
    assert set(PORTS["services"]) == {"warehouse", "api", "mlflow"}
    for service in PORTS["services"].values():
        assert service["ports"] and all(port.startswith("127.0.0.1:") for port in service["ports"])


def test_compose_is_configured_through_env_and_every_variable_is_documented() -> None:
    text = (PROJECT_ROOT / "docker-compose.yml").read_text()
    used = set(VARIABLE.findall(text))
    for override in ("docker-compose.override.yml", "containers/compose.host-network.yml"):
        used |= set(VARIABLE.findall((PROJECT_ROOT / override).read_text()))
    documented = set(env_example())
    assert used - documented == set(), "variables of docker-compose.yml missing from compose.env.example"
    # Compose v1's syntax (no path/required): the file must exist, `make compose-up` writes one.
    assert COMPOSE["services"]["runner"]["env_file"] == ["${COMPOSE_ENV_FILE:-compose.env}"]
    # No secret value is written in the compose file itself.
    assert "WAREHOUSE_PASSWORD: ${WAREHOUSE_PASSWORD:?" in text


def test_env_files_are_ignored_and_the_example_is_not() -> None:
    check = subprocess.run(["git", "check-ignore", ".env", "compose.env", "compose.env.example"], cwd=PROJECT_ROOT,
                           capture_output=True, text=True, check=False)
    assert check.stdout.split() == [".env", "compose.env"]


def test_images_are_pinned_and_built_from_debian_of_a_chosen_base() -> None:
    services = COMPOSE["services"]
    for name, service in services.items():
        repository, _, tag = service["image"].partition(":")
        assert repository.startswith("moovitamix/") and tag and tag != "latest", name
        assert service["build"]["args"]["BASE_IMAGE"] == "${BASE_IMAGE:-debian:bookworm-slim}", name
    for dockerfile in {service["build"]["dockerfile"] for service in services.values()}:
        text = (PROJECT_ROOT / dockerfile).read_text()
        # Every stage FROM the base argument or an earlier stage: never a registry's image itself.
        assert "ARG BASE_IMAGE=debian:bookworm-slim" in text
        stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?", text, re.MULTILINE)
        assert stages[0][0] == "${BASE_IMAGE}"
        assert all(base in {"${BASE_IMAGE}", *(name for _, name in stages)} for base, _ in stages), stages
    app = (PROJECT_ROOT / "containers" / "app.Dockerfile").read_text()
    assert "USER app" in app and "USER root" not in app.split("FROM api AS runner")[1].split("USER app")[1]
    assert "make install" in app and "make .venv/.installed" in app


def test_the_build_context_leaves_out_history_local_state_and_secrets() -> None:
    ignored = set((PROJECT_ROOT / ".dockerignore").read_text().split())
    assert {".git", "**/.venv", ".meltano", ".pgdata", ".pgdata-*", ".env", "compose.env", ".logs"} <= ignored


def test_host_networking_puts_every_service_on_loopback_with_its_own_port() -> None:
    overrides = HOST_NETWORK["services"]
    assert set(overrides) == set(COMPOSE["services"])
    assert all(service["network_mode"] == "host" for service in overrides.values())
    listen = {overrides["warehouse"]["environment"]["WAREHOUSE_LISTEN"], overrides["api"]["environment"][
        "MOOVITAMIX_API_HOST"], overrides["mlflow"]["environment"]["LISTEN_HOST"]}
    assert listen == {"127.0.0.1"}
    runner = overrides["runner"]["environment"]
    assert runner["WAREHOUSE_HOST"] == "127.0.0.1"
    # The runner reaches each server on the port that server listens on.
    assert runner["WAREHOUSE_PORT"] == overrides["warehouse"]["environment"]["WAREHOUSE_PORT"]
    assert runner["STAND_IN_URL"].endswith(":" + overrides["api"]["environment"]["MOOVITAMIX_API_PORT"])
    assert runner["MLFLOW_TRACKING_URI"].endswith(":" + overrides["mlflow"]["environment"]["LISTEN_PORT"])
    ports = [overrides[name]["environment"][key] for name, key in
             (("warehouse", "WAREHOUSE_PORT"), ("api", "MOOVITAMIX_API_PORT"), ("mlflow", "LISTEN_PORT"))]
    defaults = [int(re.fullmatch(r"\$\{[A-Z_]+:-(\d+)\}", port).group(1)) for port in ports]
    assert len(set(defaults)) == 3 and not {5433, 8000, 5000, 5434} & set(defaults)
    # The same ports the other override publishes.
    published = [PORTS["services"][name]["ports"][0].removeprefix("127.0.0.1:").rsplit(":", 1)[0]
                 for name in ("warehouse", "api", "mlflow")]
    assert published == ports


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True,
                                                 check=False).returncode == 0:
        return ["docker", "compose"]
    return None


@pytest.mark.skipif(compose_command() is None,
                    reason="neither docker-compose nor the docker compose plugin is installed here"
                           " (YAML-level checks above still run)")
@pytest.mark.parametrize("files", [["docker-compose.yml", "docker-compose.override.yml"],
                                   ["docker-compose.yml", "containers/compose.host-network.yml"]])
def test_docker_compose_config_accepts_the_files(tmp_path: Path, files: list[str]) -> None:
    (tmp_path / "compose.env").write_text((PROJECT_ROOT / "compose.env.example").read_text())
    command = [*compose_command(), "--project-directory", str(PROJECT_ROOT),
               "--env-file", str(tmp_path / "compose.env")]
    result = subprocess.run([*command, *(f"--file={name}" for name in files), "config", "--quiet"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
                            env={**os.environ, "COMPOSE_ENV_FILE": str(tmp_path / "compose.env")})
    assert result.returncode == 0, result.stderr


def test_meltano_environments_dev_default_ci_and_prod_with_secrets_from_env() -> None:
    environments = {env["name"]: env for env in MELTANO["environments"]}
    assert list(environments) == ["dev", "ci", "prod"]
    assert MELTANO["default_environment"] == "dev"
    assert "${MOOVITAMIX_API_URL}" in yaml.safe_dump(environments["prod"])
    assert "loader:${WAREHOUSE_LOADER_PASSWORD}@" in MELTANO["database_uri"]
    # A password, wherever a plugin gets one, is always a ${VARIABLE}, never a literal.
    passwords = []
    for included in MELTANO["include_paths"]:
        plugins = yaml.safe_load((PROJECT_ROOT / included).read_text()).get("plugins", {})
        for plugin in (p for kind in plugins.values() for p in kind):
            configured = {**plugin.get("config", {}),
                          **{s["name"]: s["value"] for s in plugin.get("settings", []) if "value" in s}}
            passwords += [value for name, value in configured.items() if "password" in name or name == "auth_token"]
    assert len(passwords) == 7 and all(re.fullmatch(r"\$\{[A-Z_]+\}", value) for value in passwords), passwords


def test_workflow_tests_on_push_and_runs_the_daily_job_in_prod_on_a_cron() -> None:
    triggers = WORKFLOW[True]  # YAML 1.1 reads the key `on` as True
    assert "push" in triggers
    assert triggers["schedule"][0]["cron"] == job_schedule("daily")
    test, daily = WORKFLOW["jobs"]["test"], WORKFLOW["jobs"]["daily"]
    assert "push" in test["if"] and any("make test" in step.get("run", "") for step in test["steps"])
    assert "schedule" in daily["if"] and daily["environment"] == "prod"
    assert WORKFLOW["permissions"] == {"contents": "read"}
    [job_step] = [step for step in daily["steps"] if step.get("run", "").startswith("make run")]
    assert job_step["env"]["MELTANO_ENVIRONMENT"] == "prod"
    # Secrets reach the step that runs the job, and no other step or job.
    others = [step for job in WORKFLOW["jobs"].values() for step in job["steps"] if step is not job_step]
    assert "secrets." not in json.dumps(others) and "secrets." not in json.dumps({**daily, "steps": []})
    kept = next(step for step in daily["steps"] if step.get("uses", "").startswith("actions/upload-artifact"))
    for folder in (".logs/", "transform/target/run_results.json", "transform/target/sources.json"):
        assert folder in kept["with"]["path"]
    for name in ("WAREHOUSE_PASSWORD", "ALERT_WEBHOOK_URL", "MOOVITAMIX_API_URL", "PII_SALT",
                 *(password_variable(role) for role in JOB_ROLES)):
        assert job_step["env"][name] == f"${{{{ secrets.{name} }}}}"

