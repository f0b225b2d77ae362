"""The README and deployment files stay true to the code."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from scheduler.config import SETTINGS, env_name
from tests.test_cli import all_commands

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", all_commands(), ids=" ".join)
def test_every_command_is_in_the_readme(command: tuple[str, ...]) -> None:
    assert f"wirewatch {' '.join(command)}" in README


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.S)
    assert "wirewatch demo" in blocks[0]
    test_command = blocks[1].strip()
    assert "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_every_setting_is_documented() -> None:
    for key in SETTINGS:
        section, name = key.split(".")
        assert f"[{section}]" in README and re.search(rf"^{name} = ", README, re.M), key


@pytest.mark.parametrize("path", ["docker-compose.yml", "deploy/wirewatch.service", "Dockerfile"])
def test_deployment_files_use_real_settings(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    text = re.sub(r"\$\{[^}]*\}", "", text)  # compose's own interpolation variables
    known = {env_name(k) for k in SETTINGS} | {"WIREWATCH_HOME", "WIREWATCH_CONFIG"}
    used = set(re.findall(r"\bWIREWATCH_[A-Z_]+", text))
    assert used and used <= known, used - known


def test_dockerfile_copies_every_package() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    packages = re.search(r'packages = \[(.*?)\]', (ROOT / "pyproject.toml").read_text()).group(1)
    for top in {p.strip(' "').split(".")[0] for p in packages.split(",")}:
        assert f"COPY {top} {top}" in text


def test_compose_wires_the_daemon_to_postgres_and_its_mounted_config() -> None:
    import tomllib
    from urllib.parse import urlsplit

    import yaml

    from scheduler.config import load_config

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    postgres, daemon = compose["services"]["postgres"], compose["services"]["wirewatch"]
    assert postgres["image"].startswith("postgres:16") and "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]
    assert daemon["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert daemon["build"] == "." and daemon["stop_signal"] == "SIGTERM"

    env, pg_env = daemon["environment"], postgres["environment"]
    url = urlsplit(env["WIREWATCH_DATABASE_URL"])
    assert url.hostname == "postgres" and url.port == 5432
    assert url.username == pg_env["POSTGRES_USER"] and url.path.lstrip("/") == pg_env["POSTGRES_DB"]
    assert url.password == pg_env["POSTGRES_PASSWORD"]  # the same ${WIREWATCH_DB_PASSWORD...} on both sides

    mounts = {target: source for source, target, *_ in (v.split(":") for v in daemon["volumes"])}
    assert env["WIREWATCH_CONFIG"] in mounts and env["WIREWATCH_OUTLETS_PATH"] in mounts
    for source in mounts.values():
        assert (ROOT / source).is_file(), source
    config_file = ROOT / mounts[env["WIREWATCH_CONFIG"]]
    tomllib.loads(config_file.read_text(encoding="utf-8"))
    config = load_config(env={"WIREWATCH_HOME": "/tmp/unused"}, config_file=config_file)
    assert str(config.metrics_port) in daemon["expose"][0]


def reliability_tests() -> list[tuple[str, str]]:
    """(file, test) of every entry in the test column of README "Reliability"."""
    section = README.split("\n## Reliability\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| fault")]
    entries = [(row, cell) for row in rows for cell in re.findall(r"`([^`]+)`", row.rstrip(" |").rsplit(" | ", 1)[1])]
    assert entries, "no tests found in the Reliability table"
    for row, cell in entries:
        assert "::" in cell, f"name the test, not only the file: {cell!r} in {row[:60]!r}"
    return [tuple(cell.split("::", 1)) for _, cell in entries]


@pytest.mark.parametrize("path, test", reliability_tests(), ids=lambda v: v)
def test_every_test_the_reliability_table_names_exists(path: str, test: str) -> None:
    import ast

    file = ROOT / (path if path.startswith("tests/") else f"tests/{path}")
    assert file.is_file(), path
    defined = {node.name for node in ast.walk(ast.parse(file.read_text(encoding="utf-8")))
               if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    assert test.split("[", 1)[0] in defined, f"{path} has no {test}"
