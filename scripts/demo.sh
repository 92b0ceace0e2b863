#!/usr/bin/env bash
# The README's main job: installs what the build needs (Debian bookworm, as
# root), builds leash-testfix and runs it on a fresh copy of the sample
# project in example/testfix/sample (the shipped sample is never edited).
#
# The model is a replay of scripted replies (example/testfix/replay.jsonl),
# priced as gpt-4o; no network, no key. Extra arguments go to leash-testfix and
# win over these, e.g. a real model:
#   bash scripts/demo.sh --model openai:gpt-4o
#   bash scripts/demo.sh --model openai-compatible:http://127.0.0.1:8080/v1#qwen2.5-coder
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh >&2
cmake --preset demo >/dev/null
cmake --build --preset demo --target leash-testfix >&2

work=build/demo/testfix-sample
rm -rf "$work"
mkdir -p "$(dirname "$work")"
cp -R example/testfix/sample "$work"
echo "leash-testfix: fixing a copy of example/testfix/sample in $work" >&2
exec build/demo/example/leash-testfix "$work" \
  --model "scripted:example/testfix/replay.jsonl#gpt-4o" \
  --store "sqlite:$work/.leash/runs.db" "$@"
