"""The compose stack's images and settings, for `make compose-up` (containers/containers.mk).

    python containers/stack.py build --base-image IMAGE   # every image of docker-compose.yml
    python containers/stack.py prune                      # the project's images a rebuild untagged
    python containers/stack.py env FILE                   # FILE from compose.env.example, secrets generated

`build` builds each image docker-compose.yml names, with the build section it gives
(Dockerfile, target), FROM the base image given, on the host's network (a daemon here has
no bridge), with BuildKit: the package index settings of this machine's pip (its CA
bundle, index URLs other than local folders) go to the build as secrets, so no image
holds them. Every image gets the project's label (IMAGE_LABEL); once all are built, the
project's images that lost their tag to the new ones are removed (`prune`), and only
those. `env` writes a compose env file with fresh secrets where none exists.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
EXAMPLE = ROOT / "compose.env.example"
# The index settings of pip's configuration that the build needs, and the variables pip and
# uv read them from. Local folders (file://, find-links) exist on this machine only.
INDEX_SETTINGS = {
    "index-url": ("PIP_INDEX_URL", "UV_INDEX_URL"),
    "extra-index-url": ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL"),
    "trusted-host": ("PIP_TRUSTED_HOST",),
}
# Every image the project builds carries this label (the base image too: base-image.sh
# sets the same one). A rebuild moves the tags to new images and leaves the old ones
# untagged, a few GB each time; the label tells them from another project's untagged
# images, which are never touched.
IMAGE_LABEL = "moovitamix.project=moovitamix"


def compose_images(compose_file: Path = COMPOSE_FILE) -> dict[str, dict]:
    """Each image the compose file builds, with its build section (one per image)."""
    services = yaml.safe_load(compose_file.read_text())["services"]
    images: dict[str, dict] = {}
    for service in services.values():
        if "build" in service:
            images.setdefault(service["image"], service["build"])
    return images


def pip_settings(python: str = sys.executable) -> dict[str, str]:
    """This machine's pip configuration (files and PIP_* variables), by setting name."""
    listed = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False)
    settings: dict[str, str] = {}
    for line in listed.stdout.splitlines():
        key, _, value = line.partition("=")
        # `global.cert='…'`, `:env:.cert='…'`: the variables are listed last and win.
        settings[key.rsplit(".", 1)[-1]] = value.strip().strip("'\"")
    return settings


def remote(values: str) -> str:
    return " ".join(value for value in values.split() if "://" in value and not value.startswith("file:"))


def package_index(folder: Path, settings: dict[str, str]) -> dict[str, Path]:
    """The build secrets: an env file of index settings and the CA bundle pip trusts."""
    lines = []
    for name, variables in INDEX_SETTINGS.items():
        value = remote(settings.get(name, "")) if name != "trusted-host" else settings.get(name, "")
        lines += [f"{variable}={shlex.quote(value)}" for variable in variables if value]
    index = folder / "package-index"
    index.write_text("".join(f"{line}\n" for line in lines))
    found = {"package-index": index}
    bundle = settings.get("cert") or os.environ.get("SSL_CERT_FILE", "")
    if bundle and Path(bundle).is_file():
        found["ca-bundle"] = Path(bundle)
    return found


def build(base_image: str, docker: str, python: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        found = package_index(Path(folder), pip_settings(python))
        for image, spec in compose_images().items():
            command = [docker, "build", "--network", "host", "--tag", image, "--label", IMAGE_LABEL,
                       "--file", str(ROOT / spec["dockerfile"]), "--build-arg", f"BASE_IMAGE={base_image}"]
            command += ["--target", spec["target"]] if "target" in spec else []
            command += [part for name, path in found.items() for part in ("--secret", f"id={name},src={path}")]
            print(f"building {image} FROM {base_image}", flush=True)
            subprocess.run([*command, str(ROOT / spec.get("context", "."))], check=True,
                           env={**os.environ, "DOCKER_BUILDKIT": "1"})
    # Only after every build succeeded: a failed one leaves the images as they were.
    prune(docker)


def untagged_images(docker: str) -> dict[str, str]:
    """The project's images without a tag (their size, by id)."""
    listed = subprocess.run([docker, "image", "ls", "--filter", "dangling=true", "--filter", f"label={IMAGE_LABEL}",
                             "--format", "{{.ID}}\t{{.Size}}"], capture_output=True, text=True, check=True)
    return dict(line.split("\t", 1) for line in listed.stdout.splitlines() if "\t" in line)


def reclaimed_space(prune_output: str) -> str:
    """Docker's own total from `docker image prune` ("Total reclaimed space: 3.8GB")."""
    totals = [line.partition(":")[2].strip() for line in prune_output.splitlines()
              if line.startswith("Total reclaimed space")]
    return totals[-1] if totals else "0B"


def prune(docker: str) -> None:
    """Remove the project's untagged images, saying which and the space that came back.
    Those a container still uses are kept by Docker: the next build or compose-down
    removes them. A failure is reported, not raised: the images built are good."""
    try:
        before = untagged_images(docker)
        if not before:
            print("untagged images of the project: none", flush=True)
            return
        pruned = subprocess.run([docker, "image", "prune", "--force", "--filter", f"label={IMAGE_LABEL}"],
                                capture_output=True, text=True, check=True)
        kept = untagged_images(docker)
    except subprocess.CalledProcessError as failure:
        print(f"warning: untagged images of the project not removed: {(failure.stderr or '').strip()[-300:]}",
              file=sys.stderr, flush=True)
        return
    removed = ", ".join(f"{image} {size}" for image, size in before.items() if image not in kept)
    print(f"untagged images of the project removed: {removed or 'none'};"
          f" {reclaimed_space(pruned.stdout)} reclaimed", flush=True)
    if kept:
        print(f"untagged images of the project kept, still used by a container: {', '.join(kept)}", flush=True)


def write_env(path: Path) -> None:
    """The example's settings, every empty secret and placeholder replaced by a fresh one;
    the Meltano environment `ci` (the stand-in, nothing shared)."""
    if path.exists():
        print(f"{path}: kept", flush=True)
        return
    lines = []
    for line in EXAMPLE.read_text().splitlines():
        name, _, value = line.partition("=")
        if not line.startswith("#") and "=" in line:
            if name == "PII_SALT" or ("PASSWORD" in name and (not value or value.startswith("change-me"))):
                value = secrets.token_urlsafe(32 if name == "PII_SALT" else 24)
            elif name == "MELTANO_ENVIRONMENT":
                value = "ci"
            elif name == "COMPOSE_ENV_FILE":
                value = str(path)
            line = f"{name}={value}"
        lines.append(line)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as env_file:
        env_file.write("\n".join(lines) + "\n")
    print(f"{path}: written, with generated secrets", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build")
    build_command.add_argument("--base-image", required=True)
    build_command.add_argument("--docker", default="docker")
    build_command.add_argument("--python", default="python3", help="whose pip configuration the build uses")
    commands.add_parser("prune").add_argument("--docker", default="docker")
    commands.add_parser("env").add_argument("path", type=Path)
    arguments = parser.parse_args(argv)
    if arguments.command == "build":
        build(arguments.base_image, arguments.docker, arguments.python)
    elif arguments.command == "prune":
        prune(arguments.docker)
    else:
        write_env(arguments.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
