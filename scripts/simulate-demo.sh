#!/usr/bin/env bash
# Simulated users talk to a chatbot: installs what the build needs (Debian
# bookworm, as root), builds leash-simulate and runs the five sample personas
# of example/sim against a scripted provider, two runs each, offline.
#
# Transcripts land in build/demo/sim/<run folder>/conversations; the last
# line printed names the folder. Extra arguments go to leash-simulate and win
# over these, e.g. continue a run that was killed:
#   bash scripts/simulate-demo.sh --resume --output build/demo/sim/p_…
# or a real model on either side:
#   bash scripts/simulate-demo.sh --persona-model openai:gpt-4o-mini
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh >&2
cmake --preset demo >/dev/null
cmake --build --preset demo --target leash-simulate >&2

exec build/demo/example/leash-simulate \
  --persona-model "scripted:example/sim/persona.jsonl#persona-sim" \
  --provider-model "scripted:example/sim/provider.jsonl#shop-bot" \
  --provider-name "Spoke & Chain support" \
  --personas example/sim/personas.tsv \
  --persona-template example/sim/persona_template.txt \
  --runs 2 --turns 6 --max-concurrent 4 \
  --output build/demo/sim "$@"
