"""Unsafe destinations are refused (literal, after DNS, on every redirect hop) unless allowed;
429/5xx storms are backed off and a long Retry-After moves the outlet's next crawl."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from crawler.safety import LOOPBACK, UnsafeDestination, check_address, check_url, parse_networks
from tests.hostile_server import HostileServer
from tests.test_hostile import crawl_logged, lines_naming, outlet_toml

REFUSED = ["127.0.0.1", "127.8.9.10", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
           "fe80::1", "fd00::1", "fc00::5", "100.64.0.1", "0.0.0.0", "::", "224.0.0.1", "::ffff:127.0.0.1",
           "::ffff:169.254.169.254", "240.0.0.1"]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700::1111"]


@pytest.mark.parametrize("address", REFUSED)
def test_private_loopback_link_local_and_metadata_addresses_are_refused(address: str) -> None:
    with pytest.raises(UnsafeDestination):
        check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    check_address(ipaddress.ip_address(address))


def test_an_allow_list_lets_exactly_its_networks_through() -> None:
    check_address(ipaddress.ip_address("127.0.0.1"), LOOPBACK)
    check_address(ipaddress.ip_address("10.9.8.7"), parse_networks(["10.9.0.0/16"]))
    with pytest.raises(UnsafeDestination):
        check_address(ipaddress.ip_address("169.254.169.254"), LOOPBACK)
    with pytest.raises(ValueError):
        parse_networks(["localhost"])


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://x/", "data:text/html,hi",
                                 "http://localhost/", "http://[::1]:8080/", "http://169.254.169.254/latest/"])
def test_non_http_schemes_and_local_names_are_refused(url: str) -> None:
    with pytest.raises(UnsafeDestination):
        check_url(url)


@pytest.fixture(scope="module")
def hostile():
    with HostileServer() as server:
        yield server


def test_outlets_on_loopback_are_refused_by_default_even_by_name(hostile: HostileServer, dsn: str, tmp_path) -> None:
    before = len(hostile.requests)
    toml = (outlet_toml("literal", hostile.base, [f"{hostile.base}/feed.xml"])
            + outlet_toml("named", f"http://localhost:{hostile.port}", [f"http://localhost:{hostile.port}/feed.xml"]))
    results, log = crawl_logged(dsn, toml, tmp_path, allowed_networks=())
    assert len(hostile.requests) == before  # nothing reached the server, robots.txt included
    assert {r.outlet: r.ok for r in results} == {"literal": False, "named": False}
    for name, url in (("literal", f"{hostile.base}/feed.xml"), ("named", f"http://localhost:{hostile.port}/feed.xml")):
        [line] = lines_naming(log, url)
        assert f"crawl of {name} failed" in line and "unsafe destination" in line and "loopback" in line, line
    assert "localhost resolves to loopback address" in log


def test_every_redirect_hop_is_checked_against_the_allow_list(hostile: HostileServer, dsn: str, tmp_path) -> None:
    port = hostile.port
    hops = {f"/redirect-out?to=http://127.0.0.2:{port}/good/1": "loopback address 127.0.0.2",
            f"/redirect-out?to=http://[::ffff:127.0.0.2]:{port}/good/2": "loopback address 127.0.0.2",
            "/redirect-out?to=http://[fd00::1]/": "private address fd00::1",
            "/redirect-out?to=http://10.0.0.8/": "private address 10.0.0.8"}
    hostile.feed_links = [*hops, "/good/3"]
    results, log = crawl_logged(dsn, outlet_toml("hops", hostile.base, [f"{hostile.base}/feed.xml"]), tmp_path,
                                allowed_networks=("127.0.0.1/32",))
    assert results[0].ok
    for path, reason in hops.items():
        [line] = lines_naming(log, hostile.base + path)
        assert "unsafe destination" in line and reason in line, line
    with psycopg.connect(dsn) as conn:
        assert [u for (u,) in conn.execute("SELECT url FROM articles")] == [f"{hostile.base}/good/3"]


def test_a_5xx_storm_is_backed_off_and_a_long_retry_after_defers_the_outlet(hostile: HostileServer, dsn: str,
                                                                           tmp_path) -> None:
    with HostileServer() as stormy:
        hostile.feed_links = ["/good/1", "/good/2", "/retry/429/seconds/7?after=3600"]
        stormy.feed_links = [f"/storm/{n}" for n in range(12)]
        toml = (outlet_toml("patient", hostile.base, [f"{hostile.base}/feed.xml"])
                + outlet_toml("stormy", stormy.base, [f"{stormy.base}/feed.xml"]))
        started = datetime.now(timezone.utc)
        results, log = crawl_logged(dsn, toml, tmp_path, retry_backoff=0.3, host_failure_limit=5)
        storm_hits = [p for p, _ in stormy.requests if p.startswith("/storm/")]
        first = stormy.arrivals(storm_hits[0])
    # 12 failing pages x 3 tries would be 36 requests; the breaker stops at 5 failures in a row
    # (plus what was already in flight).
    assert len(storm_hits) <= 5 + 2, storm_hits
    if len(first) > 1:  # retried after a pause, not at once
        assert first[1] - first[0] >= 0.3 * 0.75
    [line] = [line for line in log.splitlines() if "host_failing" in line or "failing:" in line]
    assert "stormy" in line and f"127.0.0.1:{stormy.port}" in line
    # Retry-After: 1 hour is longer than a crawl waits: not retried now, and the outlet is not due before.
    assert hostile.hits["/retry/429/seconds/7"] == 1
    with psycopg.connect(dsn) as conn:
        due = conn.execute("SELECT next_due_at FROM outlets WHERE name = 'patient'").fetchone()[0]
        stored = conn.execute("SELECT count(*) FROM articles WHERE outlet = 'patient'").fetchone()[0]
    assert due >= started + timedelta(seconds=3500) and stored == 2
    assert {r.outlet: r.ok for r in results} == {"patient": True, "stormy": True}
