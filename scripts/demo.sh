#!/usr/bin/env bash
# The README's main job: installs what the build needs (Debian bookworm, as
# root), builds the demo agent and runs it. Extra arguments go to leash-demo.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh >&2
cmake --preset demo >/dev/null
cmake --build --preset demo --target leash-demo >&2
exec build/demo/example/leash-demo "$@"
