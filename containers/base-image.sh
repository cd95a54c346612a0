#!/bin/sh
# The base image every project image builds FROM on a machine that reaches no image
# registry: a minimal Debian root file system made by debootstrap from the Debian mirror
# this machine's apt already uses, imported as an image. Elsewhere the Dockerfiles build
# FROM debian:bookworm-slim instead (their BASE_IMAGE build argument).
#
#   containers/base-image.sh IMAGE STAMP
#
# STAMP records the image's id: while it is newer than this script and the daemon still
# has that image, nothing is rebuilt (~25 s saved, and no mirror traffic).
set -eu
image=$1
stamp=$2
suite=bookworm
docker=${DOCKER:-docker}
# The label of every image the project builds (IMAGE_LABEL, containers/stack.py): once a
# re-import has moved the tag, `containers.stack prune` finds the previous base image by
# it, and no other project's image.
label=moovitamix.project=moovitamix

if [ -s "$stamp" ] && [ "$stamp" -nt "$0" ] && $docker image inspect "$(cat "$stamp")" >/dev/null 2>&1; then
    echo "base image $image: cached ($(cat "$stamp"))"
    exit 0
fi
command -v debootstrap >/dev/null || {
    echo "error: debootstrap not found (apt-get install debootstrap, as root)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "error: debootstrap needs root" >&2; exit 1; }

# The mirrors apt is configured with, by suite: no host name is written in the repository.
targets=$(apt-get indextargets --no-release-info --format '$(SITE) $(RELEASE) $(COMPONENT)' 'Identifier: Packages')
mirror() { echo "$targets" | awk -v release="$1" '$2 == release && $3 == "main" {print $1; exit}'; }
main_mirror=$(mirror "$suite")
[ -n "$main_mirror" ] || { echo "error: apt has no source for Debian $suite main (apt-get update?)" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root" "$root.log"' EXIT
trap 'exit 1' INT TERM HUP
debootstrap --variant=minbase "$suite" "$root" "$main_mirror" >"$root.log" 2>&1 || {
    tail -20 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
{
    echo "deb $main_mirror $suite main"
    for extra in "$suite-updates" "$suite-security"; do
        site=$(mirror "$extra")
        [ -z "$site" ] || echo "deb $site $extra main"
    done
} >"$root/etc/apt/sources.list"
# Images stay small: no package lists or downloaded .debs are kept, nor documentation.
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
    >"$root/etc/dpkg/dpkg.cfg.d/01-slim"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*

tar --numeric-owner -C "$root" -c . | $docker import \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' --change "LABEL $label" - "$image" >/dev/null
mkdir -p "$(dirname "$stamp")"
$docker image inspect --format '{{.Id}}' "$image" >"$stamp"
echo "base image $image: built from $main_mirror ($(cat "$stamp"))"
