"""Alerts end to end against real receivers: the outbox, matching in PostgreSQL, NOTIFY,
webhook and SMTP delivery, copies folding into one alert, digests on an injected clock,
retries, leases after a crash, and secrets kept out of everything printed."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import feedparser
import psycopg
import pytest

from alerts.channels import Channel, send
from alerts.deliver import DrainOptions, drain, message_groups
from alerts.messages import digest_message, instant_message
from alerts.feed import atom_feed
from alerts.spec import WatchError, build_watch
from alerts.store import add_watch
from db import outbox
from db import watches as watch_rows
from scheduler.imports import import_files
from scheduler.status import alert_delay, outlet_statuses

PARAGRAPHS = {
    "kuril": [
        "Japan and Russia will resume talks on the disputed Kuril Islands, which Tokyo calls the Northern "
        "Territories, officials in both capitals said on Wednesday after months of silence.",
        "The four islands off Hokkaido were seized by Soviet troops at the end of World War Two, and the "
        "dispute has kept the two countries from signing a peace treaty ever since.",
        "Former residents of the islands, now mostly in their eighties, have asked the government to restore "
        "visa-free visits to the graves of their families before it is too late for them to travel.",
        "Analysts in Tokyo said the talks were unlikely to bring a breakthrough soon, but that reopening a "
        "channel mattered after the fishing agreements around the islands had lapsed last year.",
    ],
    "budget": [
        "The cabinet approved a record budget for the next fiscal year on Friday, with defence spending and "
        "social security costs rising again as the population ages and the yen stays weak.",
        "Finance ministry officials said new bond issuance would fall slightly thanks to higher tax revenue, "
        "although debt servicing costs are set to grow as interest rates begin to rise.",
        "Opposition parties criticised the plan for relying on optimistic growth forecasts and for delaying a "
        "decision on how to fund the expansion of the military over the coming five years.",
        "The budget now goes to the Diet, where the ruling coalition's majority is expected to pass it before "
        "the end of March without major changes to the spending plans.",
    ],
}


def article_html(title: str, published: str, topic: str, extra: str = "") -> str:
    body = "".join(f"<p>{p}</p>\n" for p in PARAGRAPHS[topic]) + (f"<p>{extra}</p>" if extra else "")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta property="og:title" content="{title}">'
            f'<meta property="article:published_time" content="{published}"></head>'
            f"<body><article><h1>{title}</h1>{body}</article></body></html>")


def store_page(conn: psycopg.Connection, tmp_path: Path, url: str, title: str, published: str,
               topic: str = "kuril") -> int:
    """One page through the real pipeline (`wirewatch import`: extract, dedupe, store, enqueue)."""
    page = tmp_path / f"page-{abs(hash(url))}.html"
    page.write_text(article_html(title, published, topic), encoding="utf-8")
    summary = import_files(conn, [page], [], url=url, alert_max_age=None)  # these pages are old news
    assert summary.outcomes["stored"] + summary.outcomes["copies"] == 1, summary
    article_id = conn.execute("SELECT id FROM articles WHERE url = %s", (url,)).fetchone()[0]
    conn.commit()
    return article_id


def insert_article(conn: psycopg.Connection, outlet: str, title: str, *, topic: str = "kuril",
                   copy_of: int | None = None, now: datetime | None = None) -> int:
    """A row written directly, then the same hook ingest calls (for clock-controlled tests)."""
    conn.execute("INSERT INTO outlets (name, title, homepage) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                 (outlet, outlet.title(), f"https://{outlet}.test/"))
    article_id = conn.execute(
        "INSERT INTO articles (url, outlet, title, text, language, published_at, text_hash, copy_of) "
        "VALUES (%s, %s, %s, %s, 'en', now(), md5(%s), %s) RETURNING id",
        (f"https://{outlet}.test/{title.replace(' ', '-')}", outlet, title, "\n".join(PARAGRAPHS[topic]), title,
         copy_of)).fetchone()[0]
    outbox.article_stored(conn, article_id, now=now)
    conn.commit()
    return article_id


def watch(conn, name: str, query: str, channels: list[str], **options) -> None:
    add_watch(conn, build_watch(name, query, channels, **options))


@pytest.fixture
def drainer(dsn: str):
    with psycopg.connect(dsn, autocommit=True) as connection:
        yield connection


def deliveries(conn) -> list[tuple]:
    conn.commit()
    return conn.execute("SELECT status, attempts FROM alert_deliveries ORDER BY id").fetchall()


def test_a_new_original_is_matched_notified_and_delivered_by_webhook_and_email(
        conn, drainer, dsn, webhook, smtp_server, tmp_path: Path) -> None:
    email = (f"mailto://example.com:{smtp_server.port}?smtp=127.0.0.1&from=wirewatch@example.com"
             "&to=desk@example.com&mode=insecure")
    watch(conn, "kuril", '"northern territories" OR kuril -hockey', [webhook.url(), email])
    watch(conn, "budget", "budget deficit", [webhook.url("/budget")])
    watch(conn, "elsewhere", "kuril", [webhook.url("/elsewhere")], outlets=["asahi.test"])
    with psycopg.connect(dsn, autocommit=True) as listener:
        outbox.listen(listener)
        article_id = store_page(conn, tmp_path, "https://www.kyodo.test/news/1", "Kuril islands talks resume",
                                "2024-01-10T08:00:00+09:00")
        notes = list(listener.notifies(timeout=5, stop_after=1))
    assert notes and notes[0].channel == "wirewatch_articles"
    payload = json.loads(notes[0].payload)
    assert payload["id"] == article_id and payload["outlet"] == "kyodo.test"
    assert payload["title"] == "Kuril islands talks resume" and payload["url"] == "https://www.kyodo.test/news/1"

    result = drain(drainer)
    assert (result.sent, result.failed, result.messages) == (2, 0, 2)
    [received] = webhook.wait_for(1)
    assert webhook.paths == ["/hook"]  # neither the non-matching watch nor the other outlet's
    assert received["title"] == "[kuril] New: Kuril islands talks resume"
    body = received["message"]
    assert "(kyodo.test)" in body and "https://www.kyodo.test/news/1" in body and "2024-01-09 23:00 UTC" in body
    assert "**Kuril**" in body or "**Territories**" in body  # the snippet marks the matched terms
    [mail] = smtp_server.messages
    assert mail["Subject"] == "[kuril] New: Kuril islands talks resume" and mail["To"] == "desk@example.com"
    # Each message names its outbox delivery, so a receiver can drop a repeat (at least once).
    hook_id, mail_id = [r[0] for r in conn.execute(
        "SELECT d.id FROM alert_deliveries d JOIN watch_channels c ON c.id = d.channel_id "
        "ORDER BY c.url LIKE 'json%' DESC").fetchall()]
    assert received["wirewatch_deliveries"] == [hook_id]
    assert webhook.headers[0]["X-Wirewatch-Deliveries"] == str(hook_id)
    assert mail["X-Wirewatch-Deliveries"] == str(mail_id)
    assert f"delivery {mail_id}" in mail.get_payload(decode=True).decode()
    assert "https://www.kyodo.test/news/1" in mail.get_payload(decode=True).decode()
    assert deliveries(conn) == [("sent", 1), ("sent", 1)]
    assert drain(drainer).sent == 0  # sent means sent: nothing goes twice

    # `wirewatch status` shows the outlet's delay from publication to alert.
    [status] = [s for s in outlet_statuses(conn) if s.outlet == "kyodo.test"]
    expected = (datetime.now(timezone.utc) - datetime(2024, 1, 9, 23, 0, tzinfo=timezone.utc)).total_seconds()
    assert abs(status.row.alert_delay_seconds - expected) < 120
    assert alert_delay(status) == f"{status.row.alert_delay_seconds / 86400:.1f}d"


def test_a_syndicated_copy_folds_into_the_original_alert(conn, drainer, webhook, tmp_path: Path) -> None:
    watch(conn, "kuril", "kuril", [webhook.url()])
    original = store_page(conn, tmp_path, "https://www.kyodo.test/news/1", "Kuril islands talks resume",
                          "2024-01-10T08:00:00+09:00")
    copy = store_page(conn, tmp_path, "https://www.japantoday.test/national/77", "Japan, Russia to talk islands",
                      "2024-01-10T09:30:00+09:00")
    assert conn.execute("SELECT copy_of FROM articles WHERE id = %s", (copy,)).fetchone()[0] == original
    conn.commit()
    assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 1
    assert drain(drainer).sent == 1
    [received] = webhook.wait_for(1)
    assert "Also carried by: japantoday.test https://www.japantoday.test/national/77" in received["message"]

    row = watch_rows.get_watch(conn, "kuril")
    feed = feedparser.parse(atom_feed(row, outbox.watch_alerts(conn, "kuril"), datetime.now(timezone.utc)))
    assert not feed.bozo, feed.bozo_exception
    [entry] = feed.entries
    assert entry.title == "Kuril islands talks resume" and entry.link == "https://www.kyodo.test/news/1"
    assert "Also carried by: japantoday.test" in entry.summary
    assert feed.feed.title == "wirewatch: kuril"


def test_old_news_raises_no_alert_and_an_import_can_raise_none(conn, tmp_path: Path) -> None:
    """A backfill is not news: an article published more than alerts.max_age_days ago raises no
    alert, a recent one does, and --no-alerts (alerts=False) raises none at all."""
    watch(conn, "kuril", "kuril", ["json://127.0.0.1:9/hook"])
    stories = {
        "old": "Fishermen from Nemuro asked for a new deal on the waters around the Kuril Islands, "
               "after the old agreement lapsed and boats stayed in port through the winter.",
        "new": "A delegation of former residents of the Kuril Islands met officials in Sapporo to ask "
               "that grave visits resume before the summer, the first such meeting in two years.",
        "quiet": "Scientists counted fewer sea lions on the Kuril Islands this year, a survey published "
                 "by the regional museum found, and blamed warmer currents for the decline.",
    }

    def imported(name: str, published: datetime, **options) -> int:
        page = tmp_path / f"{name}.html"
        body = "".join(f"<p>{stories[name]} ({i})</p>" for i in range(1, 4))
        page.write_text(f'<!doctype html><html lang="en"><head><title>Kuril {name}</title>'
                        f'<meta property="article:published_time" content="{published.isoformat()}"></head>'
                        f"<body><article><h1>Kuril {name}</h1>{body}</article></body></html>", encoding="utf-8")
        import_files(conn, [page], [], url=f"https://www.{name}.test/news/1", **options)
        conn.commit()
        [(copy_of, alerts)] = conn.execute(
            "SELECT r.copy_of, count(a.id) FROM articles r LEFT JOIN alerts a ON a.article_id = r.id "
            "WHERE r.url = %s GROUP BY r.copy_of", (f"https://www.{name}.test/news/1",)).fetchall()
        assert copy_of is None  # an original: a copy would raise nothing whatever its age
        return alerts

    now = datetime.now(timezone.utc)
    assert imported("old", now - timedelta(days=30), alert_max_age=timedelta(days=2)) == 0
    assert imported("new", now - timedelta(hours=3), alert_max_age=timedelta(days=2)) == 1
    assert imported("quiet", now - timedelta(hours=1), alerts=False) == 0


def test_an_earlier_original_arriving_late_raises_no_second_alert(conn, drainer, webhook, tmp_path: Path) -> None:
    watch(conn, "kuril", "kuril", [webhook.url()])
    late = store_page(conn, tmp_path, "https://www.japantoday.test/national/77", "Japan, Russia to talk islands",
                      "2024-01-10T09:30:00+09:00")
    first = store_page(conn, tmp_path, "https://www.kyodo.test/news/1", "Kuril islands talks resume",
                       "2024-01-10T08:00:00+09:00")
    conn.commit()
    assert conn.execute("SELECT copy_of FROM articles WHERE id = %s", (late,)).fetchone()[0] == first
    assert conn.execute("SELECT article_id FROM alerts").fetchall() == [(late,)]
    assert drain(drainer).sent == 1


def test_a_later_report_of_an_alerted_story_is_an_update_only_when_asked(conn, drainer, webhook) -> None:
    watch(conn, "quiet", "kuril", [webhook.url("/quiet")])
    watch(conn, "updates", "kuril", [webhook.url("/updates")], updates=True)
    first = insert_article(conn, "jiji", "Talks on the islands")
    # A second original of the same story, as the stories migration groups reports of one event.
    conn.execute("INSERT INTO outlets (name, title, homepage) VALUES ('kyodo', 'Kyodo', 'https://k.test/')")
    second = conn.execute(
        "INSERT INTO articles (url, outlet, title, text, language, text_hash, story_id) "
        "VALUES ('https://k.test/2', 'kyodo', 'Islands talks: more detail', %s, 'en', 'x', %s) RETURNING id",
        ("\n".join(PARAGRAPHS["kuril"]), first)).fetchone()[0]
    outbox.article_stored(conn, second)
    conn.commit()
    kinds = conn.execute("SELECT w.name, al.article_id, al.kind FROM alerts al JOIN watches w ON w.id = al.watch_id "
                         "ORDER BY w.name, al.id").fetchall()
    assert kinds == [("quiet", first, "new"), ("updates", first, "new"), ("updates", second, "update")]
    drain(drainer)
    titles = sorted(m["title"] for m in webhook.wait_for(3))
    assert titles == ["[quiet] New: Talks on the islands", "[updates] New: Talks on the islands",
                      "[updates] Update: Islands talks: more detail"]


def test_digests_wait_for_their_hour_or_their_local_time(conn, drainer, webhook) -> None:
    watch(conn, "hourly", "kuril OR budget", [webhook.url("/hourly")], mode="hourly")
    watch(conn, "morning", "kuril", [webhook.url("/morning")], mode="daily", at="08:00", time_zone="Asia/Tokyo")
    t0 = datetime(2024, 1, 10, 21, 40, tzinfo=timezone.utc)  # 06:40 in Tokyo
    insert_article(conn, "jiji", "Islands talks resume", now=t0)
    insert_article(conn, "kyodo", "Record budget approved", topic="budget", now=t0 + timedelta(minutes=5))

    assert drain(drainer, now=t0 + timedelta(minutes=19)).sent == 0
    hourly = drain(drainer, now=datetime(2024, 1, 10, 22, 0, tzinfo=timezone.utc))
    assert (hourly.sent, hourly.messages) == (2, 1)
    [digest] = webhook.wait_for(1)
    assert digest["title"] == "[hourly] hourly digest: 2 stories"
    assert "1. Islands talks resume" in digest["message"] and "2. Record budget approved" in digest["message"]

    assert drain(drainer, now=datetime(2024, 1, 10, 22, 59, tzinfo=timezone.utc)).sent == 0
    assert drain(drainer, now=datetime(2024, 1, 10, 23, 0, tzinfo=timezone.utc)).sent == 1  # 08:00 in Tokyo
    assert webhook.wait_for(2)[1]["title"] == "[morning] daily digest: 1 story"
    due = conn.execute("SELECT alert_due_at('daily', '08:00', 'Asia/Tokyo', '2024-01-10 23:30+00')").fetchone()[0]
    assert due == datetime(2024, 1, 11, 23, 0, tzinfo=timezone.utc)


def test_a_failing_receiver_is_retried_with_backoff_then_given_up_and_retried_by_hand(
        conn, drainer, webhook) -> None:
    watch(conn, "kuril", "kuril", [webhook.url()])
    webhook.responses = [500]
    t0 = datetime.now(timezone.utc) + timedelta(seconds=1)
    insert_article(conn, "jiji", "Islands talks resume")
    first = drain(drainer, now=t0)
    assert (first.sent, first.failed) == (0, 1)
    status, attempts, due, error = conn.execute(
        "SELECT status, attempts, due_at, last_error FROM alert_deliveries").fetchone()
    assert (status, attempts) == ("pending", 1) and due == t0 + timedelta(seconds=30)
    assert "500" in error or "Internal Server Error" in error
    assert drain(drainer, now=t0 + timedelta(seconds=29)).sent == 0
    assert drain(drainer, now=t0 + timedelta(seconds=30)).sent == 1
    assert len(webhook.wait_for(2)) == 2
    conn.commit()

    webhook.responses = [500]
    insert_article(conn, "kyodo", "Islands talks: more", now=t0)
    once = DrainOptions(max_attempts=1)
    assert drain(drainer, now=t0, options=once).failed == 1
    assert deliveries(conn)[-1] == ("failed", 1)
    assert drain(drainer, now=t0 + timedelta(days=1)).sent == 0  # given up: only a person retries it
    assert outbox.retry_failed(drainer, watch="kuril", now=t0) == 1
    assert drain(drainer, now=t0).sent == 1
    assert deliveries(conn)[-1] == ("sent", 1)


def test_a_message_sent_again_after_a_crash_carries_the_same_delivery_ids(conn, drainer, webhook) -> None:
    watch(conn, "kuril", "kuril OR budget", [webhook.url()])
    watch(conn, "hourly", "kuril OR budget", [webhook.url("/hourly")], mode="hourly")
    t0 = datetime.now(timezone.utc) + timedelta(seconds=1)
    insert_article(conn, "jiji", "Islands talks resume")
    insert_article(conn, "kyodo", "Record budget approved", topic="budget", now=t0)
    # A drainer sends everything due, then dies before it can mark a thing sent.
    token = outbox.claim(drainer, lease=timedelta(minutes=2), limit=10, now=t0 + timedelta(hours=1))
    for group in message_groups(outbox.claimed(drainer, token)):
        message = instant_message(group[0]) if group[0].mode == "instant" else digest_message(group)
        assert send(Channel(group[0].channel_url), message.title, message.body, [r.id for r in group]) is None
    first = webhook.wait_for(3)
    assert drain(drainer, now=t0 + timedelta(hours=1, minutes=2)).sent == 4  # the lease ran out: sent again
    again = webhook.wait_for(6)[3:]
    key = lambda m: tuple(m["wirewatch_deliveries"])  # noqa: E731
    assert sorted(map(key, first)) == sorted(map(key, again))
    assert sorted(len(key(m)) for m in first) == [1, 1, 2]  # two instant alerts and one digest of both
    assert sorted(h["X-Wirewatch-Deliveries"] for h in webhook.headers[:3]) == sorted(
        ",".join(map(str, key(m))) for m in first)
    ids = {i for (i,) in conn.execute("SELECT id FROM alert_deliveries").fetchall()}
    assert {i for m in first for i in key(m)} == ids


def test_a_drainer_that_dies_after_claiming_is_replaced_when_its_lease_expires(conn, drainer, webhook) -> None:
    watch(conn, "kuril", "kuril", [webhook.url()])
    t0 = datetime.now(timezone.utc) + timedelta(seconds=1)
    insert_article(conn, "jiji", "Islands talks resume")
    # A drainer claims, then crashes before sending: its claim is all that is left of it.
    assert outbox.claim(drainer, lease=timedelta(minutes=2), limit=10, now=t0) is not None
    assert drain(drainer, now=t0 + timedelta(minutes=1)).sent == 0  # still leased
    assert drain(drainer, now=t0 + timedelta(minutes=2)).sent == 1
    assert drain(drainer, now=t0 + timedelta(minutes=10)).sent == 0
    assert len(webhook.wait_for(1)) == 1 and deliveries(conn) == [("sent", 2)]


def test_several_drainers_send_each_alert_once(conn, dsn, webhook) -> None:
    watch(conn, "kuril", "kuril", [webhook.url()])
    for n in range(12):
        insert_article(conn, f"outlet{n % 3}", f"Islands talks part {n}")
    results = []

    def run() -> None:
        with psycopg.connect(dsn, autocommit=True) as own:
            results.append(drain(own, options=DrainOptions(batch=2)))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.sent for r in results) == 12
    titles = [m["title"] for m in webhook.wait_for(12)]
    assert len(titles) == 12 and len(set(titles)) == 12


def test_channel_secrets_stay_out_of_logs_errors_and_listings(conn, drainer, webhook, caplog) -> None:
    secret_url = f"json://desk:pa55word-x@127.0.0.1:{webhook.port}/hook/tok-8f3a9c?token=s3cr3t-value"
    watch(conn, "kuril", "kuril", [secret_url])
    webhook.responses = [500]
    insert_article(conn, "jiji", "Islands talks resume")
    with caplog.at_level(logging.DEBUG):
        assert drain(drainer).failed == 1
    error = conn.execute("SELECT last_error FROM alert_deliveries").fetchone()[0]
    shown = [caplog.text, error, repr(watch_rows.list_watches(conn)), repr(outbox.recent(conn)),
             str(build_watch("x", "kuril", [secret_url])), repr(build_watch("x", "kuril", [secret_url]))]
    for text in shown:
        for secret in ("pa55word-x", "tok-8f3a9c", "s3cr3t-value"):
            assert secret not in text
    assert f"json://127.0.0.1:{webhook.port}/***" in caplog.text
    assert watch_rows.list_watches(conn)[0].channels == [f"json://127.0.0.1:{webhook.port}/***"]


def test_bad_watches_are_rejected_with_the_reason(conn) -> None:
    with pytest.raises(WatchError, match="has no searchable word"):
        watch(conn, "empty", "the -", ["json://127.0.0.1:1/hook"])
    with pytest.raises(WatchError, match="apprise cannot use this URL"):
        build_watch("x", "kuril", ["nosuchservice://token@host"])
    with pytest.raises(WatchError, match="does not know 'Mars/Olympus'"):
        watch(conn, "tz", "kuril", ["json://127.0.0.1:1/hook"], mode="daily", at="08:00", time_zone="Mars/Olympus")
    with pytest.raises(WatchError, match="expected a local time HH:MM"):
        build_watch("x", "kuril", ["json://127.0.0.1:1/hook"], mode="daily", at="8 am")
    assert build_watch("x", "kuril", ["json://127.0.0.1:1/hook"], mode="daily", at="8:05").daily_at == time(8, 5)
