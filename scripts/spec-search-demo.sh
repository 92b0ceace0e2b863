#!/usr/bin/env bash
# Spec search end to end on the shipped example (README: "Learning from your
# runs"): runs recorded → a teacher reads them, runs the agent, and proposes
# edits to its config → each edit is applied, scored on
# example/learn/eval.jsonl, and kept or rolled back → the edit that needs a
# person waits for `leash review`, which applies it. Offline: the teacher's
# replies are scripted (example/learn/teacher.jsonl) and the agent's planner
# is leash-learn's stand-in for a model. Extra arguments go to
# `leash-learn spec-search`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh >&2
cmake --preset demo >/dev/null
cmake --build --preset demo --target leash-learn leash-cli >&2
bin=build/demo/example

work=build/demo/spec-search
rm -rf "$work"
mkdir -p "$work"
cp -R example/learn/agents "$work/agents"
store="sqlite:$work/runs.db"

echo "== 1. runs recorded with the trimmed config (tools: lookup only)"
for q in "calculate 6*7" "calculate 12+30" "calculate (4+4)*2" \
         "what is the capital of France?" "what is the capital of Japan?"; do
  "$bin/leash-learn" ask "$store" "$q" --configs "$work/agents" || true
done

echo "== 2. one spec-search session, gated on example/learn/eval.jsonl"
"$bin/leash-learn" spec-search "$store" --configs "$work/agents" --min-traces 5 \
  --teacher-model scripted:example/learn/teacher.jsonl#teacher --dataset example/learn/eval.jsonl \
  --sessions-dir "$work/sessions" "$@"

echo "== 3. the config after the session (the calculator kept, lookup still there)"
cat "$work/agents/calc.toml"

echo "== 4. the edit that waits for a person"
"$bin/leash" review "$store"
session=$("$bin/leash" review "$store" | awk 'NR > 1 && $1 ~ /^session-/ { print $1; exit }')
"$bin/leash" review "$store" approve "$session" prompt-show-work --home "$work/agents"

echo "== 5. the config after the review"
cat "$work/agents/calc.toml"
