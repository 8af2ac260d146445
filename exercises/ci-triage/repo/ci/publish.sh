#!/usr/bin/env bash
# Push the packaged tarball and its checksum to the artifact registry ($REGISTRY_DIR).
set -euo pipefail
: "${REGISTRY_DIR:?REGISTRY_DIR is not set}"
version=$(python3 -m statuspage --version)
name="statuspage-${version}.tar.gz"
echo "publishing ${name} to ${REGISTRY_DIR}"
mkdir -p "${REGISTRY_DIR}"
install -m 0644 "dist/${name}" "${REGISTRY_DIR}/${name}"
install -m 0644 "dist/${name}.sha256" "${REGISTRY_DIR}/${name}.sha256"
stat -c "%A %U:%G %6s %n" "${REGISTRY_DIR}/${name}"*
