"""One direction of imports: parse every module with `ast` and fail on a forbidden import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "scheduler", "db", "demo", "alerts", "web")

# module path prefix -> top-level packages it must never import
FORBIDDEN = {
    "db/": {"scrapy", "twisted", "apscheduler", "crawler", "scheduler", "demo", "trafilatura", "alerts", "apprise",
            "web", "fastapi", "uvicorn", "jinja2"},
    "crawler/extract.py": {"scrapy", "twisted", "db", "scheduler", "apscheduler"},
    "crawler/metadata.py": {"scrapy", "twisted", "db", "scheduler", "apscheduler"},
    "crawler/clean.py": {"scrapy", "twisted", "db", "scheduler", "apscheduler"},
    "crawler/dedupe.py": {"scrapy", "twisted", "db", "scheduler", "apscheduler"},
    "crawler/minhash.py": {"scrapy", "twisted", "db", "scheduler", "apscheduler"},
    "crawler/stories.py": {"scrapy", "twisted", "db", "scheduler", "apscheduler"},
    "crawler/wires.py": {"scrapy", "twisted", "db", "scheduler", "apscheduler"},
    "crawler/urls.py": {"scrapy", "twisted", "db", "scheduler", "apscheduler"},
    "crawler/": {"apscheduler", "scheduler", "demo"},
    "demo/": {"scheduler", "db", "crawler", "scrapy"},
    "alerts/": {"scheduler", "scrapy", "twisted", "apscheduler", "demo", "web"},
    # the HTTP side reads through db/ (and alerts' feed); crawling and scheduling are not its business
    "web/": {"scheduler", "crawler", "scrapy", "twisted", "apscheduler", "demo"},
}
# Within crawler/, only the modules that wire the pipeline to storage may import db.
DB_WIRING = {"crawler/ingest.py", "crawler/run.py", "crawler/linking.py"}


def modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def imported_tops(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    tops = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            tops.add(node.module.split(".")[0])
    return tops


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    rel = str(path.relative_to(ROOT))
    tops = imported_tops(path)
    for prefix, banned in FORBIDDEN.items():
        if rel.startswith(prefix):
            assert not tops & banned, f"{rel} imports {sorted(tops & banned)}"
    if rel.startswith("crawler/") and rel not in DB_WIRING:
        assert "db" not in tops, f"{rel} imports db; only {sorted(DB_WIRING)} wire the crawler to storage"


def test_all_sql_lives_in_db() -> None:
    keywords = ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "CREATE TABLE")
    offenders = []
    for path in modules():
        rel = str(path.relative_to(ROOT))
        if rel.startswith("db/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if any(k in node.value for k in keywords) and node.value.lstrip().split(" ")[0].isupper():
                    offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, f"SQL outside db/: {offenders}"


def test_the_layout_test_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import scrapy\nfrom scheduler.cli import main\n")
    assert {"scrapy", "scheduler"} <= imported_tops(bad)
