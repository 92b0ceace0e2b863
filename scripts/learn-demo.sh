#!/usr/bin/env bash
# A learning cycle end to end on the shipped example (README: "Learning from
# your runs"): runs recorded → feedback attached → leash-learn mines them,
# changes the agent's config, evaluates before and after, and keeps the
# change or puts the old config back. Offline: the agent's planner is
# leash-learn's stand-in for a model. Extra arguments go to `leash-learn cycle`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh >&2
cmake --preset demo >/dev/null
cmake --build --preset demo --target leash-learn leash-cli >&2
bin=build/demo/example

work=build/demo/learn
rm -rf "$work"
mkdir -p "$work"
cp -R example/learn/agents "$work/agents"
store="sqlite:$work/runs.db"

echo "== 1. runs recorded (the agent with every tool, before its config was trimmed)"
for q in "calculate 6*7" "calculate 12+30" "calculate (4+4)*2" \
         "what is the capital of France?" "what is the capital of Japan?"; do
  line=$("$bin/leash-learn" ask "$store" "$q")
  echo "$line"
  run=${line%%$'\t'*}
  echo "== 2. feedback: $("$bin/leash" feedback "$store" "$run" up)"
done

echo "== 3. the config now in use"
cat "$work/agents/calc.toml"

echo "== 4. one learning cycle, evaluated on example/learn/eval.jsonl"
"$bin/leash-learn" cycle "$store" --configs "$work/agents" --dataset example/learn/eval.jsonl "$@"

echo "== 5. the config after the cycle, and its versions"
cat "$work/agents/calc.toml"
"$bin/leash-learn" versions --configs "$work/agents" calc
