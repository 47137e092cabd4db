#!/usr/bin/env bash
# The physics tier on one GPU, prepared for a machine that has one (issue 17). Prints, for CHGNet
# and SevenNet-0, cells x atoms x steps per second with 1, 16 and 64 cells per model pass against
# the CPU path (one cell per call, one thread), then runs the whole calibration ladder under the
# `rank` protocol on the GPU with a 10-minute limit (GPU tasks take gpu_batch_cells = 16 cells
# per model pass; CHGNet batches them in one call, SevenNet evaluates them in turn).
#
#   bash bench/gpu_md.sh [OUT]      # OUT defaults to $TMPDIR/viglas-gpu-md; nothing in the repo
#                                   # changes (the offsets go to OUT, not the shipped table)
#
# Not run yet: no GPU was lent to the session that wrote it (docs/md_calibration.md).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-${TMPDIR:-/tmp}/viglas-gpu-md}
PY=.venv/bin/python
mkdir -p "$OUT"
$PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: this script needs a GPU')"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true

for potential in chgnet sevennet; do
    echo "== $potential, CPU path (1 cell per call, 1 thread)"
    $PY bench/bench_md.py --potential "$potential" --device cpu --cells 1 --threads 1 \
        --steps 10 --repeat 1 --protocol rank
    echo "== $potential, GPU (1, 16, 64 cells per model pass)"
    $PY bench/bench_md.py --potential "$potential" --device cuda --cells 1 16 64 --threads 1 \
        --steps 20 --repeat 2 --protocol rank
done

echo "== the ladder under rank on the GPU (10 min limit)"
start=$(date +%s)
timeout 600 .venv/bin/viglas calibrate --protocol rank --potential chgnet --potential sevennet \
    --device cuda --out "$OUT/ladder" --report "$OUT/md_calibration_gpu.md" \
    --offsets "$OUT/md_calibration_gpu.csv" --quiet || echo "calibrate stopped: exit $?"
echo "ladder wall time: $(( $(date +%s) - start )) s; report: $OUT/md_calibration_gpu.md"
$PY bench/bench_md.py --from-run "$OUT/ladder"
