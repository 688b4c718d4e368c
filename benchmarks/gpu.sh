#!/usr/bin/env bash
# One GPU, at most 8 minutes: the throughput table on the GPU (fp32, channels_last, torch.compile, bf16-mixed,
# 16-mixed with its gradient scaler through the GAN's and CycleGAN's manual optimization), the CycleGAN
# iteration at 256 px with the official settings (cyclegan256 row: batch 1, so s/iteration = 1 / images/s;
# anchor about 0.2-0.4 s on a 1080-class GPU), and a short GAN run with its FID/floor. Writes one markdown
# file, $OUT_DIR/gpu.md (default runs/benchmarks/gpu-<time>), and prints it.
#
#   benchmarks/gpu.sh            # on the GPU machine
#   benchmarks/gpu.sh --dry-run  # tiny, on the CPU (GENLAB_GPU_DRY_RUN=1 does the same); the test suite runs this
#
# Each part has its own time limit, so a slow part costs its own rows only. The GAN part trains and caches the
# default MNIST classifier first when it is not cached (on the CPU, about a minute with 8+ threads); set
# GENLAB_CLASSIFIER_CKPT to use another one.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python}
DRY=${GENLAB_GPU_DRY_RUN:-0}
[[ "${1:-}" == "--dry-run" ]] && DRY=1
OUT_DIR=${OUT_DIR:-runs/benchmarks/gpu-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT_DIR"
REPORT="$OUT_DIR/gpu.md"
CLS=()
[[ -n "${GENLAB_CLASSIFIER_CKPT:-}" ]] && CLS=(--classifier-ckpt "$GENLAB_CLASSIFIER_CKPT")

if [[ "$DRY" == 1 ]]; then
  THROUGHPUT=(--tiny --accelerator cpu --models gan cyclegan256 --paths default bf16-mixed 16-mixed)
  GAN=(--tiny --accelerator cpu --eval-at 0.01 --num-samples 100)
  LIMIT_T=300 LIMIT_G=300
else
  THROUGHPUT=(--accelerator gpu --threads 8 --steps 20 --warmup 5
              --paths default channels_last compile bf16-mixed 16-mixed)
  GAN=(--accelerator gpu --threads 8 --eval-at 1 2 --num-samples 10000)
  LIMIT_T=230 LIMIT_G=230
fi

{
  echo "# genlab on $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || echo 'no GPU')," \
       "$(date -u +%Y-%m-%d)$([[ "$DRY" == 1 ]] && echo ' (DRY RUN on the CPU: not a result)')"
  echo
  echo "## Training throughput (images/s; CycleGAN batch 1: s/iteration = 1 / images/s)"
  timeout "$LIMIT_T" "$PY" benchmarks/throughput.py "${THROUGHPUT[@]}" 2>"$OUT_DIR/throughput.err" \
    || echo "(throughput stopped: exit $?, see $OUT_DIR/throughput.err)"
  echo
  echo "## Short GAN run (gan_mnist defaults), FID over the real-vs-real floor"
  timeout "$LIMIT_G" "$PY" benchmarks/gan_recipes.py "${GAN[@]}" "${CLS[@]}" --out "$OUT_DIR/gan" \
    --experiment gan_mnist --recipe "gan_mnist=" 2>"$OUT_DIR/gan.err" || echo "(GAN run stopped: exit $?, see $OUT_DIR/gan.err)"
} | tee "$REPORT"
