#!/bin/sh
# Runs a build step with the package index settings of the machine that builds, when it
# passed them as build secrets (containers/build.py): an env file (index URLs) and a CA
# bundle, mounted under /run/secrets for that one step. Without them, pip's and uv's
# defaults apply (a machine with direct access to PyPI needs nothing).
set -eu
if [ -s /run/secrets/package-index ]; then
    set -a
    . /run/secrets/package-index
    set +a
fi
if [ -s /run/secrets/ca-bundle ]; then
    export PIP_CERT=/run/secrets/ca-bundle SSL_CERT_FILE=/run/secrets/ca-bundle \
        REQUESTS_CA_BUNDLE=/run/secrets/ca-bundle
fi
# The download cache is a cache mount on another file system: uv copies rather than links.
export UV_LINK_MODE=copy
exec "$@"
