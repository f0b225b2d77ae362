"""The daemon's Prometheus endpoint (off by default) and `wirewatch status` after it ran."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from scheduler.config import load_config
from tests.conftest import manifest_articles

STORED = [a for a in manifest_articles() if not a.get("excluded_by_since")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_are_off_by_default(tmp_path: Path) -> None:
    assert load_config(env={"WIREWATCH_HOME": str(tmp_path)}).metrics_port == 0


def test_daemon_exports_metrics_and_status_shows_the_outlets(replay, cli_env, dsn: str, tmp_path: Path) -> None:
    from demo.outlets import outlets_toml

    outlets = tmp_path / "outlets.toml"
    outlets.write_text(outlets_toml(replay.bases) + '\n[[outlet]]\nname = "unreachable"\ntitle = "Down"\n'
                       'homepage = "http://127.0.0.1:9/"\nlanguage = "en"\ninterval = "1h"\n'
                       'feeds = ["http://127.0.0.1:9/feed.xml"]\n')
    port = free_port()
    daemon = subprocess.Popen([sys.executable, "-m", "scheduler.cli", "--outlets", str(outlets), "run"],
                              env=cli_env | {"WIREWATCH_METRICS_PORT": str(port)}, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline, samples = time.monotonic() + 90, {}
        while time.monotonic() < deadline:
            time.sleep(0.5)
            assert daemon.poll() is None, daemon.stderr.read()
            try:
                samples = scrape(port)
            except OSError:
                continue
            done = sum(v for (name, labels), v in samples.items() if name == "wirewatch_crawls_total")
            if done >= len({a["outlet"] for a in manifest_articles()}) + 1:  # the demo outlets and the unreachable one
                break
        stored = sum(v for (n, _), v in samples.items() if n == "wirewatch_articles_stored_total")
        assert stored == len(STORED)
        assert samples[("wirewatch_pages_fetched_total", (("outlet", "demo-jiji"),))] >= 2
        assert samples[("wirewatch_crawl_failures_total", (("outlet", "unreachable"),))] == 1
        assert samples[("wirewatch_crawl_duration_seconds_count", (("outlet", "demo-kyodo"),))] == 1
        assert samples[("wirewatch_publication_delay_seconds_count", (("outlet", "demo-jiji"),))] == 1
        assert ("wirewatch_crawls_running", ()) in samples and ("wirewatch_crawls_waiting", ()) in samples
        assert ("wirewatch_requests_waiting_for_host", ()) in samples
        assert samples[("process_resident_memory_bytes", ())] > 0
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0

    result = subprocess.run([sys.executable, "-m", "scheduler.cli", "--outlets", str(outlets), "status",
                             "--format", "json"], env=cli_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = {r["outlet"]: r for r in json.loads(result.stdout)}
    jiji, down = rows["demo-jiji"], rows["unreachable"]
    assert jiji["run_status"] == "ok" and jiji["health"] == "ok" and jiji["failures"] == 0
    assert jiji["total"] == 1 and jiji["stored"] == 1 and jiji["duration"].endswith("s") and jiji["next_run"]
    assert down["run_status"] == "failed" and down["failures"] == 1 and down["health"] == "failing"
    assert "articles" in result.stderr and "stories" in result.stderr and "MiB" in result.stderr
    table = subprocess.run([sys.executable, "-m", "scheduler.cli", "--outlets", str(outlets), "status"],
                           env=cli_env, capture_output=True, text=True, timeout=60)
    assert f"Archive: {len(STORED)} articles" in table.stdout and "next_run" in table.stdout.lower().replace(" ", "_")
