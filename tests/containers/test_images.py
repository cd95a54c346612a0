"""The images a rebuild replaces are removed, the project's only: `containers.stack build`
and `prune` against a fake docker command that keeps its images in a JSON file (no Docker
engine needed). Like Docker, it moves a tag to the new image, leaving the old one untagged
("dangling"), and `image prune` spares an image a container uses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from containers import stack

FAKE_DOCKER = f"""#!{sys.executable}
import json, os, sys

path = os.environ["FAKE_DOCKER_STATE"]
with open(path) as file:
    state = json.load(file)
args = sys.argv[1:]
state["calls"].append(args)
values = lambda option: [args[i + 1] for i, arg in enumerate(args) if arg == option]

def matches(image, filters):
    for found in filters:
        key, _, value = found.partition("=")
        if key == "dangling" and (not image["tags"]) != (value == "true"):
            return False
        if key == "label" and value not in image["labels"]:
            return False
    return True

status = 0
if args[0] == "build":
    tag = values("--tag")[0]
    if tag == os.environ.get("FAKE_DOCKER_FAIL"):
        status = 1
    else:
        for image in state["images"].values():
            if tag in image["tags"]:
                image["tags"].remove(tag)
        state["images"][f"new{{len(state['images'])}}"] = {{
            "tags": [tag], "labels": values("--label"), "size": "1GB", "in_use": False}}
elif args[:2] == ["image", "ls"]:
    for name, image in state["images"].items():
        if matches(image, values("--filter")):
            print(f"{{name}}\\t{{image['size']}}")
elif args[:2] == ["image", "prune"]:
    gone = [name for name, image in state["images"].items()
            if matches(image, ["dangling=true", *values("--filter")]) and not image["in_use"]]
    print("Deleted Images:")
    for name in gone:
        print(f"deleted: sha256:{{name}}")
        del state["images"][name]
    print(f"\\nTotal reclaimed space: {{2.5 * len(gone)}}GB")
with open(path, "w") as file:
    json.dump(state, file)
sys.exit(status)
"""


def image(*tags: str, labels: tuple[str, ...] = (stack.IMAGE_LABEL,), in_use: bool = False) -> dict:
    return {"tags": list(tags), "labels": list(labels), "size": "2.5GB", "in_use": in_use}


def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, images: dict[str, dict]) -> tuple[str, Path]:
    state = tmp_path / "docker.json"
    state.write_text(json.dumps({"images": images, "calls": []}))
    command = tmp_path / "docker"
    command.write_text(FAKE_DOCKER)
    command.chmod(0o755)
    monkeypatch.setenv("FAKE_DOCKER_STATE", str(state))
    return str(command), state


@pytest.fixture
def docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """The project's images of a previous build, an image of the project's that lost its
    tag while a container used it, and another project's untagged image."""
    images = {f"old-{name}": image(name) for name in stack.compose_images()}
    images |= {"used-by-a-container": image(in_use=True), "another-project": image(labels=("vendor=other",))}
    return fake_docker(tmp_path, monkeypatch, images)


def images_after(state: Path) -> dict[str, dict]:
    return json.loads(state.read_text())["images"]


def test_a_rebuild_removes_the_images_it_untagged_and_no_other_projects(
        docker: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    command, state = docker
    stack.build("moovitamix/debian:bookworm", command, sys.executable)
    left = images_after(state)
    assert not [name for name in left if name.startswith("old-")], left
    assert "another-project" in left and "used-by-a-container" in left
    # Every image built carries the label the next rebuild finds it by.
    assert all(stack.IMAGE_LABEL in found["labels"] for found in left.values() if found["tags"])
    assert sorted(tag for found in left.values() for tag in found["tags"]) == sorted(stack.compose_images())
    printed = capsys.readouterr().out.splitlines()
    removed = next(line for line in printed if line.startswith("untagged images of the project removed:"))
    assert all(f"old-{name} 2.5GB" in removed for name in stack.compose_images()), removed
    assert removed.endswith("; 7.5GB reclaimed") and "another-project" not in removed
    assert "untagged images of the project kept, still used by a container: used-by-a-container" in printed


def test_a_failed_build_removes_nothing(docker: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    command, state = docker
    monkeypatch.setenv("FAKE_DOCKER_FAIL", "moovitamix/runner:1")
    with pytest.raises(subprocess.CalledProcessError):
        stack.build("moovitamix/debian:bookworm", command, sys.executable)
    calls = json.loads(state.read_text())["calls"]
    assert not [call for call in calls if call[:2] == ["image", "prune"]]
    assert "old-moovitamix/runner:1" in images_after(state)


def test_prune_says_so_when_there_is_nothing_to_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    command, state = fake_docker(tmp_path, monkeypatch, {"another-project": image(labels=())})
    stack.prune(command)
    assert "untagged images of the project: none" in capsys.readouterr().out
    assert "another-project" in images_after(state)


def test_the_base_image_carries_the_same_label() -> None:
    script = (stack.ROOT / "containers" / "base-image.sh").read_text()
    assert re.search(r"^label=(\S+)$", script, re.MULTILINE).group(1) == stack.IMAGE_LABEL
    assert '--change "LABEL $label"' in script
