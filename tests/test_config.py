"""The typed configuration: precedence, validation messages, redaction."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from scheduler.config import ConfigError, Secret, load_config


def test_defaults_file_env_flags_in_that_order(tmp_path: Path) -> None:
    (tmp_path / "wirewatch.toml").write_text(
        '[crawl]\nconcurrency = 4\ncontact_url = "https://example.org/contact"\n[dedupe]\nwindow_days = 5\n')
    env = {"WIREWATCH_HOME": str(tmp_path), "WIREWATCH_CRAWL_CONCURRENCY": "8"}
    config = load_config(env=env)
    assert config.concurrency == 8  # env beats file
    assert config.dedupe_window == timedelta(days=5)
    assert "https://example.org/contact" in config.effective_user_agent
    assert load_config(env=env, overrides={"crawl.concurrency": 2}).concurrency == 2  # flag beats env
    assert load_config(env={"WIREWATCH_HOME": str(tmp_path / "other")}).concurrency == 16


@pytest.mark.parametrize("text, message", [
    ("[crawl]\nconcurrency = 'abc'\n", "wirewatch.toml: crawl.concurrency: expected a positive integer, got 'abc'"),
    ("[crawl]\nspeed = 3\n", "wirewatch.toml: crawl.speed: unknown setting"),
    ("[log]\nlevel = 'LOUD'\n", "log.level: expected one of"),
    ("crawl = 3\n", "crawl: expected a [crawl] table"),
    ("[crawl\n", "invalid TOML"),
])
def test_bad_values_are_named(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "wirewatch.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(env={"WIREWATCH_HOME": str(tmp_path)})
    assert message in str(err.value)


def test_the_database_url_never_shows(tmp_path: Path) -> None:
    env = {"WIREWATCH_HOME": str(tmp_path), "WIREWATCH_DATABASE_URL": "postgresql://u:hunter2@db/x"}
    config = load_config(env=env)
    assert isinstance(config.database_url, Secret)
    assert config.database_url.reveal() == "postgresql://u:hunter2@db/x"
    assert "hunter2" not in repr(config) and "hunter2" not in str(config.redacted())
    with pytest.raises(ConfigError) as err:
        load_config(env=env | {"WIREWATCH_DATABASE_URL": "mysql-hunter2"})
    assert "hunter2" not in str(err.value) and "WIREWATCH_DATABASE_URL" in str(err.value)


def test_home_holds_the_state(tmp_path: Path) -> None:
    config = load_config(env={"WIREWATCH_HOME": str(tmp_path / "a")})
    assert config.embedded_pgdata == tmp_path / "a" / "pgdata"
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(env={"WIREWATCH_HOME": str(tmp_path), "WIREWATCH_CONFIG": str(tmp_path / "nope.toml")})
