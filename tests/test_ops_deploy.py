"""Deployment files: docker-compose.yml, compose.env.example, the Meltano environments and the
GitHub workflow, checked at the YAML level (no Docker engine, no GitHub runner here).
`docker compose config` also runs when the compose plugin is installed."""

from __future__ import annotations

import json
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
    assert "server" in services["mlflow"]["command"]
    # Published ports only on the loopback interface.
    for service in services.values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port


def test_compose_is_configured_through_env_and_every_variable_is_documented() -> None:
    text = (PROJECT_ROOT / "docker-compose.yml").read_text()
    used = set(VARIABLE.findall(text))
    documented = set(env_example())
    assert used - documented == set(), "variables of docker-compose.yml missing from compose.env.example"
    assert COMPOSE["services"]["runner"]["env_file"] == [{"path": "compose.env", "required": False}]
    # No secret value is written in the compose file itself.
    assert "WAREHOUSE_PASSWORD: ${WAREHOUSE_PASSWORD:?" in text


def test_env_files_are_ignored_and_the_example_is_not() -> None:
    check = subprocess.run(["git", "check-ignore", ".env", "compose.env", "compose.env.example"], cwd=PROJECT_ROOT,
                           capture_output=True, text=True, check=False)
    assert check.stdout.split() == [".env", "compose.env"]


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode != 0,
    reason="the docker compose plugin is not installed here (YAML-level checks above still run)",
)
def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    (tmp_path / "compose.env").write_text((PROJECT_ROOT / "compose.env.example").read_text())
    result = subprocess.run(["docker", "compose", "--project-directory", str(PROJECT_ROOT), "--env-file",
                             str(tmp_path / "compose.env"), "config", "--quiet"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, check=False)
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

