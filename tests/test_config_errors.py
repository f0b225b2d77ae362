"""`wirewatch run` refuses a bad config, outlets file or watch: one `Error:` line naming the file
(and line, for a syntax error) and the field, exit 1, within seconds, and nothing of the daemon
started: no outlet, watch or crawl run reaches the database."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

import psycopg
import pytest

from scheduler.config import SETTINGS, Config, ConfigError, env_name, load_config
from scheduler.outlets import OutletsError, load_outlets

OUTLET = ('[[outlet]]\nname = "harbour"\ntitle = "Harbour"\nhomepage = "http://127.0.0.1:9/"\nlanguage = "en"\n'
          'interval = "1h"\nfeeds = ["http://127.0.0.1:9/feed.xml"]\n')
WATCH = '[[watch]]\nname = "kuril"\nquery = "kuril"\nchannels = ["json://127.0.0.1:9/hook"]\n'
SETTING_OF = {attr: key for key, (attr, _) in SETTINGS.items()}
# Fields that no `[section] key` sets; each is covered elsewhere.
NOT_SETTINGS = {
    "home": "WIREWATCH_HOME, a directory (tests/test_cli.py::test_embedded_database_lives_in_its_home)",
    "source": "where the config was read from, not a setting",
    "watches": "[[watch]] tables (the watch tests below)",
}
# Per field type: a value of the wrong TOML type for the config file, and a string of the right
# kind but out of bounds for the environment.
INVALID = {
    "int": ('"many"', "-1"),
    "float": ('"soon"', "nan"),
    "bool": ('"maybe"', "2"),
    "str": ("42", "bad\x01value"),
    "Path": ("42", "bad\x01value"),
    "Secret": ("42", "bad\x01value"),
    "tuple[str, ...]": ("42", "not-a-network"),
    "timedelta": ('"a week"', "-1"),
}
SECRET_FIELDS = {"database_url", "api_token"}
PROMPT_SECONDS = 20.0


class Start:
    """A WIREWATCH_HOME whose config file names a valid outlets file and holds a valid watch: a
    daemon that started despite an error would write both to the database."""

    def __init__(self, home: Path, env: dict[str, str], dsn: str) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home, self.env, self.dsn = home, env, dsn
        self.config = home / "wirewatch.toml"
        self.outlets = home / "outlets.toml"
        self.outlets.write_text(OUTLET, encoding="utf-8")

    def write_config(self, settings: dict[str, str] | None = None, tail: str = WATCH, path: Path | None = None,
                     ) -> None:
        """`settings` as TOML literals by key ("crawl.concurrency": "4"); `tail` after them."""
        values = {"outlets.path": f'"{self.outlets}"'} | (settings or {})
        sections: dict[str, list[str]] = {}
        for key, literal in values.items():
            section, name = key.split(".")
            sections.setdefault(section, []).append(f"{name} = {literal}")
        text = "".join(f"[{s}]\n" + "\n".join(lines) + "\n" for s, lines in sections.items())
        (path or self.config).write_text(text + tail, encoding="utf-8")

    def launch(self, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, float]:
        """`wirewatch ARGS run`, or `wirewatch ARGS` when ARGS hold the `run` command."""
        command = [*args] if "run" in args else [*args, "run"]
        process = subprocess.Popen([sys.executable, "-m", "scheduler.cli", *command], env=self.env | (env or {}),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return process, time.monotonic()

    def check(self, launched: tuple[subprocess.Popen, float], *needles: str, hidden: tuple[str, ...] = ()) -> str:
        """The one error line of a refused start, after checking the exit, the time and the database."""
        process, started = launched
        try:
            _, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
            pytest.fail(f"the daemon started despite the error:\n{stderr}")
        code, seconds = process.returncode, time.monotonic() - started
        assert code == 1, stderr
        assert "Traceback" not in stderr, stderr
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
        for needle in needles:
            assert needle in lines[0], (needle, lines[0])
        for secret in hidden:
            assert secret not in stderr, stderr
        assert seconds < PROMPT_SECONDS, f"took {seconds:.1f}s to refuse"
        assert written(self.dsn) == {"outlets": 0, "watches": 0, "watch_channels": 0, "crawl_runs": 0}
        return lines[0]

    def refused(self, *needles: str, args: tuple[str, ...] = (), env: dict[str, str] | None = None,
                hidden: tuple[str, ...] = ()) -> str:
        return self.check(self.launch(*args, env=env), *needles, hidden=hidden)


def written(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # fixed names, no input
                for table in ("outlets", "watches", "watch_channels", "crawl_runs")}


def finished_runs(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM crawl_runs WHERE finished_at IS NOT NULL").fetchone()[0]


@pytest.fixture
def start(home: Path, cli_env: dict[str, str], dsn: str) -> Start:
    return Start(home, cli_env, dsn)


def _base_type(annotation: str) -> str:
    return annotation.replace(" | None", "")


def test_the_valid_setup_does_start(start: Start) -> None:
    """The baseline the refusals are measured against: it writes its outlet and watch and runs."""
    start.write_config()
    log = start.home / "daemon.log"
    with log.open("w") as stderr:  # a file, not a pipe nobody reads: the daemon must never block on it
        process = subprocess.Popen([sys.executable, "-m", "scheduler.cli", "run"], env=start.env,
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 60
        while not finished_runs(start.dsn):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"no crawl run was recorded:\n{log.read_text()}"
            time.sleep(0.2)
        assert written(start.dsn)["outlets"] == 1 and written(start.dsn)["watches"] == 1
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_every_config_field_is_a_setting_or_named_here() -> None:
    unset = {f.name for f in fields(Config)} - set(SETTING_OF)
    assert unset == set(NOT_SETTINGS), f"a Config field no config key sets: {unset - set(NOT_SETTINGS)}"


@pytest.mark.parametrize("field", [f for f in fields(Config) if f.name not in NOT_SETTINGS], ids=lambda f: f.name)
def test_an_invalid_value_of_each_setting_is_refused(start: Start, field) -> None:
    key = SETTING_OF[field.name]
    assert _base_type(field.type) in INVALID, f"add invalid values for a {field.type} setting to INVALID"
    in_file, in_env = INVALID[_base_type(field.type)]

    start.write_config({key: in_file})
    line = start.refused(f"Error: {start.config}: {key}: ")
    if field.name in SECRET_FIELDS:
        assert "<redacted>" in line
    start.write_config()
    line = refusal(start, f"Error: environment: {env_name(key)}: ", env={env_name(key): in_env})
    if field.name in SECRET_FIELDS:
        assert "bad\x01value" not in line and "<redacted>" in line


def refusal(start: Start, *needles: str, env: dict[str, str] | None = None, hidden: tuple[str, ...] = ()) -> str:
    """In this process, what `wirewatch run` checks before it opens the database (config, its
    watches, the outlets file): the error line it prints. For the variants of a kind of error
    whose `wirewatch run` is tested."""
    with pytest.raises((ConfigError, OutletsError)) as err:
        load_outlets(load_config(env=start.env | (env or {})).outlets_path)
    line = f"Error: {err.value}"
    assert "\n" not in line
    for needle in needles:
        assert needle in line, (needle, line)
    for secret in hidden:
        assert secret not in line, line
    return line


def test_an_unknown_setting_is_refused(start: Start) -> None:
    start.write_config({"crawl.concurrency": "4", "crawl.speed": "3"})
    start.refused(f"Error: {start.config}: crawl.speed: unknown setting (known: database.url, ")


@pytest.mark.parametrize("settings, needles", [
    ({"cache.size": "3"}, ["cache.size: unknown setting"]),
    ({"schedule.lease_seconds": "inf"}, ["schedule.lease_seconds: expected a positive number"]),
    ({"crawl.download_timeout": "nan"}, ["crawl.download_timeout: expected a positive number"]),
    ({"dedupe.window_days": "1e12"}, ["dedupe.window_days: expected a positive number"]),
    ({"dedupe.window_days": "50000"}, ["dedupe.window_days: expected at most 36500 days"]),
    ({"crawl.concurrency": "99999999999999999999"}, ["crawl.concurrency: expected a positive integer"]),
    ({"crawl.concurrency": '"\u00b2"'}, ["crawl.concurrency: expected a positive integer"]),
    ({"crawl.user_agent": '"wirewatch\\r\\nX-Injected: 1"'}, ["crawl.user_agent: contains a control character"]),
    ({"crawl.contact_url": '"a\\u0000b"'}, ["crawl.contact_url: contains a control character"]),
    ({"metrics.address": '"not an address"'}, ["metrics.address: expected an IP address or a host name"]),
    ({"api.host": '"-bad-.example"'}, ["api.host: expected an IP address or a host name"]),
    ({"database.url": '"host=db password=hunter2 nonsense"'}, ["database.url:", "<redacted>"]),
    ({"crawl.allowed_networks": '["10.0.0.0/33"]'}, ["crawl.allowed_networks: not an IP network"]),
], ids=["unknown-section", "inf", "nan", "days-overflow", "days", "int-overflow", "superscript-digit",
        "header-injection", "nul", "address", "host", "dsn", "network"])
def test_config_values_are_refused_with_file_and_key(start: Start, settings: dict, needles: list[str]) -> None:
    start.write_config(settings)
    refusal(start, f"Error: {start.config}: ", *needles, hidden=("hunter2",))


def test_malformed_config_toml_names_file_and_line(start: Start) -> None:
    start.config.write_text('[crawl]\nconcurrency = 4\nper_domain_concurrency = \n', encoding="utf-8")
    start.refused(f"Error: {start.config}: invalid TOML", "line 3")
    start.config.write_text('[crawl]\nconcurrency = 4\nconcurrency = 5\n', encoding="utf-8")
    refusal(start, f"Error: {start.config}: invalid TOML", "line 3")
    start.config.write_bytes(b'[crawl]\ncontact_url = "caf\xe9"\n')
    refusal(start, f"Error: {start.config}: not UTF-8 text")


OUTLET_ERRORS = {  # id: ((text to replace, replacement), what the error line says)
    "unknown-field": (("", 'colour = "blue"\n'), "outlet 'harbour': colour: unknown field"),
    "interval": (('interval = "1h"', 'interval = "often"'), "outlet 'harbour': interval: expected a duration"),
    "cron": (('interval = "1h"', 'cron = "61 * * * *"'), "outlet 'harbour': cron: expected a crontab expression"),
    "interval-short": (('interval = "1h"', 'interval = "10s"'), "outlet 'harbour': interval: at least 30s"),
    "interval-overflow": (('interval = "1h"', 'interval = 99999999999999999999'),
                          "outlet 'harbour': interval: at most 3650d"),
    "interval-bounds": (('interval = "1h"', 'interval = "1h"\nmin_interval = "2h"'),
                        "outlet 'harbour': interval: must lie between"),
    "cron-never": (('interval = "1h"', 'cron = "0 0 30 2 *"'), "outlet 'harbour': cron: '0 0 30 2 *' never fires"),
    "cron-type": (('interval = "1h"', 'cron = 15'), "outlet 'harbour': cron: expected a crontab expression"),
    "since-overflow": (('interval = "1h"', 'sitemap_since = "99999999999d"'), "outlet 'harbour': sitemap_since:"),
    "nul": (('title = "Harbour"', 'title = "Har\\u0000bour"'), "outlet 'harbour': title: contains a control"),
    "ipv6": (('"http://127.0.0.1:9/feed.xml"', '"http://[::1/feed.xml"'), "outlet 'harbour': feeds[0]: expected"),
    "port": (('"http://127.0.0.1:9/feed.xml"', '"http://127.0.0.1:99999/f"'), "outlet 'harbour': feeds[0]: expected"),
    "scheme": (('"http://127.0.0.1:9/feed.xml"', '"file:///etc/passwd"'), "outlet 'harbour': feeds[0]: expected"),
    "duplicate": (("", OUTLET), "outlet 'harbour': name: defined twice"),
    "no-outlets": ((OUTLET, "# nothing\n"), "no [[outlet]] tables"),
}
RUN_OUTLET_ERRORS = ("unknown-field", "interval", "cron")  # through `wirewatch run`; the rest through the loader


def _outlets_text(change: tuple[str, str]) -> str:
    old, new = change
    text = OUTLET + new if not old else OUTLET.replace(old, new)
    assert text != OUTLET
    return text


@pytest.mark.parametrize("case", RUN_OUTLET_ERRORS)
def test_outlets_errors_refuse_the_start(start: Start, case: str) -> None:
    change, needle = OUTLET_ERRORS[case]
    start.outlets.write_text(_outlets_text(change), encoding="utf-8")
    start.write_config()
    start.refused(f"Error: {start.outlets}: {needle}")


@pytest.mark.parametrize("case", [c for c in OUTLET_ERRORS if c not in RUN_OUTLET_ERRORS])
def test_outlets_values_are_refused_with_file_outlet_and_field(start: Start, case: str) -> None:
    change, needle = OUTLET_ERRORS[case]
    start.outlets.write_text(_outlets_text(change), encoding="utf-8")
    start.write_config()
    refusal(start, f"Error: {start.outlets}: {needle}")


def test_outlets_errors_name_the_file_given_on_the_command_line(start: Start, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text(OUTLET + "[extra]\nx = 1\n", encoding="utf-8")
    start.write_config()
    start.refused(f"Error: {other}: unknown top-level key(s) ['extra']", args=("--outlets", str(other)))
    start.refused("Error: unknown outlet(s): nowhere (known: harbour)", args=("run", "--outlet", "nowhere"))


def test_malformed_outlets_toml_names_file_and_line(start: Start) -> None:
    start.outlets.write_text(OUTLET.replace('language = "en"', 'language = en'), encoding="utf-8")
    start.write_config()
    start.refused(f"Error: {start.outlets}: invalid TOML", "line 5")


WATCH_ERRORS = {  # id: ([[watch]] tables, what the error line says)
    "unknown-key": (WATCH + 'colour = "blue"\n', "watch 'kuril': unknown key(s) colour"),
    # PostgreSQL parses the query (alerts.store): the database is open, and still nothing is written
    "query": (WATCH.replace('query = "kuril"', 'query = "!!! &&"'), "watch 'kuril': query: '!!! &&' has no searchable"),
    "query-nul": (WATCH.replace('query = "kuril"', 'query = "kuril\\u0000"'), "watch 'kuril': query: contains a control"),
    "query-long": (WATCH.replace('query = "kuril"', f'query = "{"kuril " * 300}"'), "watch 'kuril': query: at most 1000"),
    "name": (WATCH.replace('name = "kuril"', 'name = "a b"'), "watch 'a b': name:"),
    "at": (WATCH.replace('channels = [', 'mode = "daily"\nat = "25:00"\nchannels = ['), "watch 'kuril': at:"),
    "mode": (WATCH.replace('channels = [', 'mode = "weekly"\nchannels = ['), "watch 'kuril': mode:"),
    "channels": (WATCH.replace('channels = ["json://127.0.0.1:9/hook"]', 'channels = 5'), "watch 'kuril': channels:"),
    "outlets": (WATCH.replace('channels = [', 'outlets = 5\nchannels = ['), "watch 'kuril': outlets:"),
    "twice": (WATCH + WATCH, "watch: a name is defined twice: ['kuril']"),
    "not-tables": ('[watch]\nname = "kuril"\n', "watch: expected [[watch]] tables"),
}
RUN_WATCH_ERRORS = ("unknown-key", "query", "query-nul")


@pytest.mark.parametrize("case", RUN_WATCH_ERRORS)
def test_watch_errors_refuse_the_start(start: Start, case: str) -> None:
    tail, needle = WATCH_ERRORS[case]
    start.write_config(tail=tail)
    start.refused(f"Error: {start.config}: {needle}")


@pytest.mark.parametrize("case", [c for c in WATCH_ERRORS if c not in RUN_WATCH_ERRORS and c != "query"])
def test_watch_errors_name_file_watch_and_field(start: Start, case: str) -> None:
    tail, needle = WATCH_ERRORS[case]
    start.write_config(tail=tail)
    refusal(start, f"Error: {start.config}: {needle}")


def test_an_unknown_time_zone_is_refused_by_the_database(start: Start) -> None:
    start.write_config(tail=WATCH.replace("channels = [", 'time_zone = "Mars/Olympus"\nchannels = ['))
    start.refused(f"Error: {start.config}: watch 'kuril': time_zone: PostgreSQL does not know 'Mars/Olympus'")


CHANNELS = [
    "json://user:hunter2@127.0.0.1:notaport/hook?token=S3CRETTOKEN",
    "nosuchservice://S3CRETTOKEN@hunter2.example/path",
    "tgram://S3CRETTOKEN/",
    "S3CRETTOKEN-hunter2",
]


def test_an_invalid_channel_url_is_refused_without_its_secrets(start: Start) -> None:
    launched = []
    for i, url in enumerate(CHANNELS):  # all at once: each start takes a second or two
        config = start.home / f"channel-{i}.toml"
        start.write_config(tail=WATCH.replace("json://127.0.0.1:9/hook", url), path=config)
        launched.append((config, start.launch("--config", str(config))))
    for config, process in launched:
        line = start.check(process, f"Error: {config}: watch 'kuril': channel ", hidden=("S3CRETTOKEN", "hunter2"))
        assert "://***" in line
