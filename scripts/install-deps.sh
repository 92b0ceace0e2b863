#!/usr/bin/env bash
# Installs what building and testing leash needs, from Debian's packages
# (bookworm). A no-op when everything is already there; needs root otherwise.
#
#   scripts/install-deps.sh            # as root: apt-get update + install
set -euo pipefail

# libboost1.81-all-dev does not pull in Boost.JSON: it has its own package.
packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-all-dev libboost-json1.81-dev
  libssl-dev libsqlite3-dev libcli11-dev libtomlplusplus-dev
)

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps: not a Debian system; install by hand: ${packages[*]}" >&2
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if ((EUID != 0)); then
  echo "install-deps: missing ${missing[*]}; as root run:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Quiet, but show the end of apt's output when it fails.
if ! { apt-get -qq update && apt-get -qq -y --no-install-recommends install "${missing[@]}"; } \
    >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "install-deps: apt-get failed" >&2
  exit 1
fi
echo "install-deps: done"
