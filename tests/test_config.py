"""Settings: defaults < newsintel.toml < NEWSINTEL_* environment < explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsintel.config import Settings, describe_settings, load_settings
from newsintel.errors import ConfigError


def test_defaults_without_file_or_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings == Settings()
    assert settings.db == "data/newsintel.duckdb"
    assert settings.db_path() == Path("data/newsintel.duckdb")


def test_toml_overrides_defaults_and_env_overrides_toml(tmp_path: Path) -> None:
    config = tmp_path / "newsintel.toml"
    config.write_text(
        '[newsintel]\ndb = "from-file.duckdb"\nsmtp_port = 2525\nsmtp_host = "mail.file"\n'
    )
    settings = load_settings(
        env={"NEWSINTEL_SMTP_HOST": "mail.env", "NEWSINTEL_DIGEST_TO": "a@x.org, b@y.org"},
        config_file=config,
    )
    assert settings.db == "from-file.duckdb"
    assert settings.smtp_port == 2525
    assert settings.smtp_host == "mail.env"
    assert settings.digest_to == ["a@x.org", "b@y.org"]


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('model = "/models/other"\n')
    settings = load_settings(env={"NEWSINTEL_CONFIG": str(config)})
    assert settings.model == "/models/other"


def test_overrides_win_and_none_is_ignored() -> None:
    settings = load_settings(env={"NEWSINTEL_DB": "env.duckdb"}, config_file=None, db=None)
    assert settings.db == "env.duckdb"
    assert load_settings(env={"NEWSINTEL_DB": "env.duckdb"}, db="cli.duckdb").db == "cli.duckdb"


def test_motherduck_connection_string_has_no_path() -> None:
    settings = load_settings(env={"NEWSINTEL_DB": "md:newsintel"})
    assert settings.db == "md:newsintel"
    assert settings.db_path() is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEWSINTEL_SMTP_PORT": "twenty"}, "setting 'smtp_port' has an invalid value 'twenty'"),
        ({"NEWSINTEL_SMTP_TLS": "maybe"}, "setting 'smtp_tls' must be one of none, starttls, ssl"),
        ({"NEWSINTEL_FETCH_TIMEOUT": "soon"}, "setting 'fetch_timeout' has an invalid value"),
    ],
)
def test_invalid_environment_values_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def test_unknown_key_in_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "newsintel.toml"
    config.write_text('dbb = "typo.duckdb"\n')
    with pytest.raises(ConfigError, match="unknown setting 'dbb'"):
        load_settings(env={}, config_file=config)


def test_broken_toml_and_missing_file_are_clear(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("db = \n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings(env={}, config_file=broken)
    with pytest.raises(ConfigError, match=r"config file .*missing\.toml does not exist"):
        load_settings(env={}, config_file=tmp_path / "missing.toml")


def test_every_setting_has_help_and_env_name() -> None:
    rows = describe_settings()
    assert len(rows) == len(Settings.__dataclass_fields__)
    for name, env, _default, help_text in rows:
        assert env == "NEWSINTEL_" + name.upper()
        assert len(help_text) > 10
