#!/usr/bin/env bash
# The prepared one-GPU check (about 5 minutes on one H200, no network there):
# the hf backend's tokens/s and a LlamaFactory SFT step in bf16 with and
# without DeepSpeed ZeRO-3 on a randomly initialised Qwen2-shaped model of
# about 0.5B parameters, MFU printed (bench/gpu_check.py says what each
# number is and what it is compared with).
#
# Before, on a machine with PyPI: bash bench/gpu_wheels.sh (wheels into .whl/,
# which travels with the working tree). On the GPU machine, from the
# repository root:
#
#   bash bench/gpu_check.sh [OUT_DIR]      (default: $OUT, else results/gpu_check)
#
# Extra arguments after OUT_DIR go to bench/gpu_check.py (--chip H100 ...).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-${OUT:-results/gpu_check}}
shift || true
PY=${PYTHON:-python3}
if [ -d .whl ]; then
    SITE=$(mktemp -d)  # the wheels' packages, for this check only
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
        .whl/*.whl || exit 1
    export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
fi
# LlamaFactory refuses versions outside its tested ranges unless told not to:
# .whl carries the locked ones, so the check only guards against a stray copy.
export DISABLE_VERSION_CHECK=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
mkdir -p "$OUT_DIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT_DIR/gpu.txt"
"$PY" -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" \
    | tee -a "$OUT_DIR/gpu.txt"
timeout 540 "$PY" bench/gpu_check.py --out "$OUT_DIR" "$@" 2>&1 | tee "$OUT_DIR/gpu_check.log" \
    | grep -v -e "Loading weights" -e "Writing model shards"
exit "${PIPESTATUS[0]}"
