"""`wirewatch watch ...` and `wirewatch alerts ...` as a user runs them, with real receivers."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import feedparser
import psycopg

from tests.test_alerts import article_html
from tests.test_cli import wirewatch


def test_watch_lifecycle_with_masked_channels_and_clear_rejections(cli_env, webhook) -> None:
    secret = f"json://desk:pa55word-x@127.0.0.1:{webhook.port}/hook/tok-8f3a9c"
    added = wirewatch("watch", "add", "kuril", "--query", '"northern territories" OR kuril',
                      "--channel", secret, env=cli_env)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"Added watch kuril (instant: json://127.0.0.1:{webhook.port}/***)."

    listed = wirewatch("watch", "list", "--format", "json", env=cli_env)
    [row] = json.loads(listed.stdout)
    assert row["name"] == "kuril" and row["channels"] == f"json://127.0.0.1:{webhook.port}/***"
    assert row["parsed"] == "'northern' <-> 'territori' | 'kuril'"

    edited = wirewatch("watch", "edit", "kuril", "--mode", "daily", "--at", "08:00", "--tz", "Asia/Tokyo",
                       env=cli_env)
    assert edited.returncode == 0, edited.stderr
    shown = wirewatch("watch", "show", "kuril", env=cli_env)
    assert "daily 08:00 Asia/Tokyo" in shown.stdout and f"json://127.0.0.1:{webhook.port}/***" in shown.stdout

    again = wirewatch("watch", "add", "kuril", "--query", "kuril", "--channel", secret, env=cli_env)
    assert again.returncode == 1 and "already exists" in again.stderr
    empty = wirewatch("watch", "add", "stop", "--query", "the of", "--channel", secret, env=cli_env)
    assert empty.returncode == 1
    assert empty.stderr.startswith("Error: watch 'stop': query: 'the of' has no searchable word")
    bad = wirewatch("watch", "add", "bad", "--query", "kuril", "--channel", "tgram://not-a-token", env=cli_env)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: watch 'bad': channel tgram://***: apprise cannot")
    for result in (added, listed, edited, shown, again, empty, bad):
        assert "pa55word-x" not in result.stdout + result.stderr and "tok-8f3a9c" not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr

    removed = wirewatch("watch", "remove", "kuril", env=cli_env)
    assert removed.returncode == 0 and json.loads(wirewatch("watch", "list", "--format", "json",
                                                            env=cli_env).stdout) == []


def test_config_file_watches_import_delivery_test_feed_and_alerts(cli_env, webhook, home: Path,
                                                                 tmp_path: Path) -> None:
    home.mkdir(parents=True)
    (home / "wirewatch.toml").write_text(
        '[[watch]]\nname = "kuril"\nquery = \'"northern territories" OR kuril\'\n'
        f'channels = ["{webhook.url("/hook/s3cr3t-value")}"]\n'
        '[[watch]]\nname = "budget"\nquery = "budget"\nmode = "hourly"\n'
        f'channels = ["{webhook.url("/budget")}"]\n', encoding="utf-8")
    page = tmp_path / "kuril.html"
    page.write_text(article_html("Kuril islands talks resume", "2024-01-10T08:00:00+09:00", "kuril"))
    # a 2024 page: alerts.max_age_days is raised so that it counts as news
    imported = wirewatch("import", str(page), "--url", "https://www.kyodo.test/news/1",
                         env={**cli_env, "WIREWATCH_ALERTS_MAX_AGE_DAYS": "36500"})
    assert imported.returncode == 0, imported.stderr
    assert "Alerts: 1 alert deliveries sent in 1 messages." in imported.stderr
    [message] = webhook.wait_for(1)
    assert message["title"] == "[kuril] New: Kuril islands talks resume" and webhook.paths == ["/hook/s3cr3t-value"]

    config = wirewatch("config", env=cli_env)
    assert "kuril (instant: json://127.0.0.1:" in config.stdout and "s3cr3t" not in config.stdout
    refused = wirewatch("watch", "remove", "kuril", env=cli_env)
    assert refused.returncode == 1 and "defined in the config file" in refused.stderr

    tested = wirewatch("watch", "test", "kuril", env=cli_env)
    assert tested.returncode == 0, tested.stderr
    assert "Kuril islands talks resume" in tested.stdout and "1 archived original match" in tested.stderr
    assert f"test message to json://127.0.0.1:{webhook.port}/***: sent" in tested.stderr
    assert webhook.wait_for(2)[1]["title"] == "[kuril] wirewatch test message"

    feed = feedparser.parse(wirewatch("watch", "feed", "kuril", env=cli_env).stdout)
    assert not feed.bozo and [e.link for e in feed.entries] == ["https://www.kyodo.test/news/1"]

    listed = wirewatch("alerts", "--format", "json", env=cli_env)
    [delivery] = json.loads(listed.stdout)
    assert delivery["status"] == "sent" and delivery["watch"] == "kuril" and "s3cr3t" not in listed.stdout
    retried = wirewatch("alerts", "retry", env=cli_env)
    assert retried.returncode == 0 and "0 failed deliveries queued again" in retried.stderr
    sent = wirewatch("alerts", "send", env=cli_env)
    assert sent.returncode == 0 and sent.stdout.strip() == "Alerts: no alert was due."

    (home / "wirewatch.toml").write_text("", encoding="utf-8")  # a read command changes nothing ...
    assert {w["name"] for w in json.loads(wirewatch("watch", "list", "--format", "json", env=cli_env).stdout)} == {
        "kuril", "budget"}
    synced = wirewatch("watch", "sync", env=cli_env)  # ... a sync deletes only the watch without alerts
    assert synced.returncode == 0 and "watch budget removed" in synced.stderr, synced.stderr
    assert "watch kuril is no longer in" in synced.stderr and "has 1 alerts: kept" in synced.stderr
    [kept] = json.loads(wirewatch("watch", "list", "--format", "json", env=cli_env).stdout)
    assert kept["name"] == "kuril" and kept["source"] == "cli" and kept["alerts"] == 1
    assert wirewatch("watch", "remove", "kuril", env=cli_env).returncode == 0
    assert json.loads(wirewatch("watch", "list", "--format", "json", env=cli_env).stdout) == []


def test_a_config_watch_with_an_empty_query_stops_the_command(cli_env, home: Path) -> None:
    home.mkdir(parents=True)
    (home / "wirewatch.toml").write_text(
        '[[watch]]\nname = "x"\nquery = "the"\nchannels = ["json://127.0.0.1:1/hook"]\n', encoding="utf-8")
    assert wirewatch("watch", "list", env=cli_env).returncode == 0  # a read command does not sync
    result = wirewatch("watch", "sync", env=cli_env)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: {home / 'wirewatch.toml'}: watch 'x': query: 'the' has no searchable word")


def test_the_demo_delivers_to_a_watch_webhook(cli_env, webhook, dsn: str) -> None:
    added = wirewatch("watch", "add", "lavrov", "--query", "Lavrov", "--channel", webhook.url(), env=cli_env)
    assert added.returncode == 0, added.stderr
    demo = wirewatch("demo", env=cli_env)
    assert demo.returncode == 0, demo.stderr
    with psycopg.connect(dsn) as conn:
        # One alert per story: reports of one event grouped by the stories migration count once.
        originals = conn.execute(
            "SELECT count(DISTINCT coalesce((to_jsonb(a) ->> 'story_id')::bigint, a.id)) FROM articles a "
            "WHERE copy_of IS NULL AND search @@ websearch_to_tsquery('english', 'Lavrov')").fetchone()[0]
    assert originals >= 2
    assert f"Alerts: {originals} alert deliveries sent in {originals} messages." in demo.stdout
    titles = [m["title"] for m in webhook.wait_for(originals)]
    assert len(titles) == originals and all(t.startswith("[lavrov] ") for t in titles)
    again = wirewatch("demo", env=cli_env)
    assert "Alerts: no alert was due." in again.stdout and len(webhook.received) == originals


def test_the_daemon_delivers_alerts_as_it_crawls(replay, cli_env, webhook, tmp_path: Path) -> None:
    from demo.outlets import outlets_toml

    outlets = tmp_path / "outlets.toml"
    outlets.write_text(outlets_toml(replay.bases))
    added = wirewatch("watch", "add", "lavrov", "--query", "Lavrov", "--channel", webhook.url(), env=cli_env)
    assert added.returncode == 0, added.stderr
    # the replay's news is from 2019-2024: alerts.max_age_days is raised so that it counts as news
    process = subprocess.Popen([sys.executable, "-m", "scheduler.cli", "--outlets", str(outlets), "run"],
                               env={**cli_env, "WIREWATCH_ALERTS_MAX_AGE_DAYS": "36500"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        messages = webhook.wait_for(2, timeout=90)
        assert len(messages) >= 2 and all(m["title"].startswith("[lavrov] New: ") for m in messages)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read()
    assert "Traceback" not in stderr
    assert f"alert lavrov sent to json://127.0.0.1:{webhook.port}/***" in stderr
