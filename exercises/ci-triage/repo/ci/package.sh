#!/usr/bin/env bash
# Build the release tarball dist/statuspage-<version>.tar.gz and its checksum.
set -euo pipefail
version=$(python3 -m statuspage --version)
name="statuspage-${version}"
rm -rf dist && mkdir -p dist
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2024-01-01 00:00Z' \
    --exclude='__pycache__' -czf "dist/${name}.tar.gz" statuspage
(cd dist && sha256sum "${name}.tar.gz" > "${name}.tar.gz.sha256")
echo "packaged dist/${name}.tar.gz ($(stat -c %s "dist/${name}.tar.gz") bytes)"
cat "dist/${name}.tar.gz.sha256"
