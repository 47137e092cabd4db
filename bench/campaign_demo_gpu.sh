#!/usr/bin/env bash
# The held-out-VIGLAS campaign of docs/campaign.md on a GPU machine: the standard protocol,
# ROUNDS rounds of BATCH picks per strategy, then the figure and tables under $OUT/docs.
#
#   bench/campaign_demo_gpu.sh                      # 5 rounds of 4, standard protocol
#   ROUNDS=8 BATCH=8 bench/campaign_demo_gpu.sh     # a larger budget
#
# It installs torch with CUDA (TORCH=torch lets pip pick the CUDA wheel), runs the three
# campaigns on one local GPU worker (MD cells batched 16 to a model pass) and can be killed and
# started again: every round resumes from its files and the MD from its checkpoints.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/campaign-demo-gpu}
make install TORCH="${TORCH:-torch}"
PYTHONPATH=. .venv/bin/python - <<'PY'
import torch
assert torch.cuda.is_available(), "no CUDA device: run bench/campaign_demo.py on the CPU instead"
PY
start=$(date +%s)
PYTHONPATH=. .venv/bin/python bench/campaign_demo.py --out "$OUT" --rounds "${ROUNDS:-5}" \
    --batch "${BATCH:-4}" --protocol "${PROTOCOL:-standard}" --device cuda --workers 1
PYTHONPATH=. .venv/bin/python bench/campaign_demo.py --out "$OUT" --render --docs "$OUT/docs"
echo "campaign demo: $(( $(date +%s) - start )) s -> $OUT/docs/campaign_demo_tables.md"
