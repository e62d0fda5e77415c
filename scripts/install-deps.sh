#!/usr/bin/env bash
# Installs the Debian 12 packages fedcb needs; a no-op when all are present.
# Usage: scripts/install-deps.sh [extra-package ...]
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libopenblas-dev libssl-dev openssl zlib1g-dev
  libgrpc-dev libprotobuf-c-dev protobuf-c-compiler
  libinih-dev libjansson-dev libcmocka-dev libsqlite3-dev
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "fedcb: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "fedcb: need root or sudo to install: ${missing[*]}" >&2
    exit 1
  fi
  sudo_cmd=(sudo -n)
fi
export DEBIAN_FRONTEND=noninteractive
# No prompt, and no read of standard input (which CI may not provide).
"${sudo_cmd[@]}" apt-get update -q </dev/null >&2
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null >&2
