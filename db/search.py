"""Reading the archive: one code path for `wirewatch search|show|export`, the HTTP API and the web UI.

The query text goes to PostgreSQL as a parameter of `websearch_to_tsquery`, which accepts any
string (unbalanced quotes, a lone `-`, `OR OR`): bad syntax can match nothing, never fail or
reach SQL as text. `as_record()` is the stable JSON shape of each row (README "Search output").
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import psycopg
from psycopg.rows import class_row
from rapidfuzz import fuzz

from db import bigrams
from db.articles import ArticleRow, CopyRow, copies_of
from db.pages import RawPage
from db.queries import QUERIES

# The queries whose plan depends on the query's values (which index answers it, the window) run
# with prepare=False: psycopg prepares a statement after 5 runs, and PostgreSQL may then settle
# on one generic plan for every query (bench/search.py: "prime minister" took 4.4 s instead of
# 0.13 s on a long-lived connection).

# ts_headline wraps each matched term between these two characters (never found in article text).
MARK_START, MARK_END = "\x02", "\x03"
SORTS = ("relevance", "date")
# Relevance ranks the newest RANK_POOL matching articles (bench/search.py: a page costs the same
# for a term in half the archive as for a rare one); date order pages through every match.
# Finding and ranking the pool is most of a search's time, in proportion to its size: measured
# side by side, 1,000 took p50 45 / p95 58 ms on bench/japanese.py's 100,000 articles and 500 took
# 29 / 34 ms (1,000,000 English articles: p50 112 against 80 ms). Recency weighs on the score
# anyway, and 500 matches reach back ten days for a term in 50 articles a day.
RANK_POOL = 500
# rapidfuzz partial ratio of a description to a text's opening past which it is the same words
DESCRIPTION_REPEATED = 90
# The pool comes from the GIN index, sorted by date. Asked for the days of a window of the newest
# articles (archive_window, migration 0011), the index steps through the window's postings and
# tests each against the whole tsquery, days included; asked for every match, it returns each,
# and each match's row is fetched for its date, unless an outlet or date index narrows the bitmap
# first. Costs in row fetches (about 1.2 us at 1,000,000 articles, bench/search.py):
WINDOW_COST = 0.3  # per article of a window: its posting, its entry in the date index (window_for)
LEXEME_COST = 0.008  # per article of a window and lexeme of its days (3 a day, one per form)
PLANNING_COST = 11  # per lexeme of a window's days: `earthquake --outlet nhk` over 172 days planned in 7 ms
MATCH_COST = 1.1  # per match without a window: its posting and its row
RANGE_COST = 0.1  # per article of an outlet or date range whose index narrows every match's bitmap
# A window spans this many times the articles expected to hold the pool: the estimate is the
# archive's average, and news comes in bursts. The planner counts a phrase as its words anywhere
# in an article, often many more than hold the phrase ("prime minister": 1 in 4), hence more;
# but it counts a Japanese term's bigrams as if independent, fewer than hold them (ワシントン: 11,000
# of 57,000 in bench/japanese.py's 100,000), so those keep the margin of a word.
WINDOW_MARGIN = 2
WINDOW_MARGIN_PHRASE = 4
# A window's days are an OR in the tsquery (one per form of the query), one level deeper each: past
# a few thousand, PostgreSQL runs out of stack. Far fewer cost less than every match anyway.
MAX_WINDOW_DAYS = 400
# A window's first date is read from a date index, one entry per article skipped (8,000 in 1 ms);
# past this many (200,000 took 13 ms) it is the dates' range in the proportion of the span.
MAX_SKIP = 20_000
# websearch_to_tsquery keeps pending operators on a stack of 32 (PostgreSQL's tsquery.c STACKDEPTH):
# 33 '-' with no word between them fail with "tsquery stack too small". Counted between runs of
# letters and digits, wider than the parser's own notion of a word on purpose.
MAX_NEGATIONS = 32
# The longest query anywhere: `search`, `export`, watches, the API's and web UI's q (a query is words,
# not a document; each is parsed and planned per search).
MAX_QUERY_CHARS = 1000
# The forms of `search`, each with its marker lexeme (0009), in search_estimate's order.
FORMS = ("en", "simple", "cjk")
# PostgreSQL's tsquery selectivity of a lexeme not among the column's most common elements, at most
# (ts_selfuncs.c): an estimate of one word at or below this share of the rows is a guess.
DEFAULT_TS_MATCH_SEL = 0.005
NEGATED_MARKER_COST = 16  # per article of a marker tested for its absence, against one tested for its presence
_WORDS_RE = re.compile(r"[^\W_]+")


def query_problem(query: str) -> str | None:
    """Why PostgreSQL's web-search parser cannot take `query` (its driver cannot send it, or the
    parser fails instead of matching nothing), or None. Checked by `Filters` and, for a message
    naming the parameter, by watches, `wirewatch search` and the API; every other string parses,
    at worst to a query that matches nothing."""
    if "\x00" in query:
        return "contains a NUL character"
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:  # bytes that were not UTF-8 on the command line: lone surrogates
        return "not valid UTF-8 text"
    if len(query.strip()) > MAX_QUERY_CHARS:
        return f"at most {MAX_QUERY_CHARS} characters, got {len(query.strip()):,}"
    if any(gap.count("-") > MAX_NEGATIONS for gap in _WORDS_RE.split(query)):
        return f"more than {MAX_NEGATIONS} '-' in a row with no word between them"
    return None


@dataclass(frozen=True)
class Filters:
    query: str | None
    outlet: str | None = None
    language: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.query is not None and (problem := query_problem(self.query)):
            raise ValueError(f"query: {problem}")

    def params(self) -> dict[str, Any]:
        # the same query over the bigram column of Japanese articles, and its positive terms (lower-case,
        # NFKC): what Japanese snippets mark; where other snippets look first (text_near, 0012)
        cjk, cjk_terms = bigrams.build_query(self.query)
        return {"query": self.query, "outlet": self.outlet, "language": self.language, "since": self.since,
                "until": self.until, "cjk": cjk, "cjk_terms": cjk_terms, "anchors": bigrams.anchors(self.query)}


@dataclass(frozen=True)
class Hit:
    id: int
    url: str
    outlet: str
    title: str
    published_at: datetime | None
    fetched_at: datetime
    language: str | None
    copy_of: int | None
    story_id: int | None
    wire_service: str | None
    rank: float
    score: float
    shown_total: int  # results the pool holds (every page)
    complete: int  # of those, the ones date order places exactly (all when the pool was not cut)
    pooled: int  # matching articles in the pool
    pool_oldest: datetime | None  # the date of the pool's oldest article
    snippet: str  # matched terms between MARK_START and MARK_END
    copies: list[CopyRow] = field(default_factory=list)
    total: int = 0  # results of the whole query: exact, or estimated when not total_exact
    total_exact: bool = True
    more: bool = False  # a page follows this one

    def as_record(self) -> dict[str, Any]:
        return {
            "id": self.id, "published": self.published_at, "outlet": self.outlet, "title": self.title,
            "url": self.url, "language": self.language, "copy_of": self.copy_of, "story_id": self.story_id,
            "wire": self.wire_service, "score": round(self.score, 6), "snippet": plain_snippet(self.snippet),
            "highlights": matched_terms(self.snippet),
            "also_carried_by": [copy_record(c) for c in self.copies],
        }


@dataclass(frozen=True)
class Story:
    story_id: int
    first_published: datetime
    reports: int  # originals: different texts
    copies: int
    outlets: list[str]
    title: str
    originals: list[int]
    complete: int | None = None  # stories of the pool whose place is exact (story_page)
    pooled: int = 0  # matching articles the pool held

    def as_record(self) -> dict[str, Any]:
        return {"story": self.story_id, "first_published": self.first_published, "reports": self.reports,
                "copies": self.copies, "outlets": self.outlets, "title": self.title, "originals": self.originals}


@dataclass(frozen=True)
class StoryArticle:
    id: int
    url: str
    outlet: str
    title: str
    published_at: datetime | None
    fetched_at: datetime
    copy_of: int | None
    wire_service: str | None
    similarity: float | None

    def as_record(self) -> dict[str, Any]:
        return {"id": self.id, "outlet": self.outlet, "title": self.title, "url": self.url,
                "published": self.published_at, "copy_of": self.copy_of, "wire": self.wire_service,
                "similarity": self.similarity}


@dataclass(frozen=True)
class Article(ArticleRow):
    """An article with every extracted field (`ArticleRow` and what migration 0004 added)."""

    section: str | None = None
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    extractor: str | None = None
    has_raw_page: bool = False

    @property
    def story_key(self) -> int:
        """The key its story is found by: story_id, else its original's id (or its own)."""
        return self.story_id or self.copy_of or self.id

    @property
    def description_shown(self) -> str | None:
        """The description, unless the text opens with it (a standfirst or a first paragraph
        the page also gives as its description): shown once, not twice."""
        if not self.description:
            return None
        summary = " ".join(self.description.split()).rstrip(".…").strip()
        opening = " ".join((self.text or "")[: len(summary) * 2 + 40].split())
        return None if fuzz.partial_ratio(summary, opening) >= DESCRIPTION_REPEATED else self.description

    def as_record(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__} | {
            "published": self.published_at, "story": self.story_key}


@dataclass(frozen=True)
class CoverageDay:
    day: date
    outlet: str
    articles: int


@dataclass(frozen=True)
class RawPageRow(RawPage):
    article_url: str = ""  # the archive's URL of the article (the page's may differ: redirects)


def search(conn: psycopg.Connection, filters: Filters, *, sort: str = "relevance", expand: bool = False,
           limit: int = 20, offset: int = 0, rank_pool: int = RANK_POOL) -> list[Hit]:
    """One page of hits, each original with its copies attached (`expand`: copies as rows too).

    Relevance ranks the newest `rank_pool` matching articles: past them a page is empty and the
    total is PostgreSQL's estimate (`total_exact` False). Date order grows the pool until it
    holds the page, so it reaches every match.
    """
    if sort not in SORTS:
        raise ValueError(f"sort: expected one of {', '.join(SORTS)}, got {sort!r}")
    params = filters.params() | {"expand": expand, "by_date": sort == "date", "limit": limit + 1, "offset": offset}
    pool = rank_pool if sort == "relevance" else max(rank_pool, (offset + limit + 1) * 5 // 4)
    estimate = planner_estimate(conn, filters)
    while True:
        window = window_for(conn, filters, estimate, pool)
        with conn.cursor(row_factory=class_row(Hit)) as cur:
            rows = cur.execute(QUERIES["search_page"], params | window.params() | {
                "pool": pool, "phrase": estimate.phrase}, prepare=False).fetchall()
        hits = [h for h in rows if h.id is not None]
        cut = rows[0].pooled == pool
        if sort == "relevance" or not cut or (hits and hits[0].complete > offset + limit):
            break
        pool *= 4  # date order: the pool ran out before the page did
    more = len(hits) > limit
    hits = hits[:limit]
    if not hits:
        return []
    first = hits[0]
    total, exact = first.shown_total, not cut
    if cut:  # the matches expected, folded in the pool's proportion
        matches = estimate.matches if estimate.counted else matches_of_pool(conn, filters, estimate, first)
        total = max(first.shown_total, round(matches * first.shown_total / first.pooled))
    copies = copies_of(conn, [h.id for h in hits if h.copy_of is None])
    return [Hit(**{**h.__dict__, "copies": copies.get(h.id, []), "total": total, "total_exact": exact,
                   "more": more}) for h in hits]


def matches_of_pool(conn: psycopg.Connection, filters: Filters, estimate: Estimate, first: Hit) -> int:
    """The matches of a query the planner only guesses at (`Estimate.counted`), from its pool: the
    newest `pooled` matches reach back to `pool_oldest`, and the filters' articles since then
    against all of them extrapolate that to the whole range. A query in a burst of news is counted
    high; on bench/search.py the planner's guesses were up to 17 times under and 3 times over."""
    plan = conn.execute(QUERIES["search_filtered"], filters.params() | {"pool_oldest": first.pool_oldest},
                        prepare=False).fetchone()
    recent = int(plan[0][0]["Plan"]["Plan Rows"])
    return min(max(estimate.filtered, first.pooled), round(first.pooled * estimate.filtered / max(recent, first.pooled)))


def matching_originals(conn: psycopg.Connection, filters: Filters, *, limit: int | None = None) -> list[int]:
    """Every result of a query in date order (an original stands for its matching copies), at most
    `limit`: what `wirewatch export` writes, in one statement whatever the number of matches."""
    rows = conn.execute(QUERIES["matching_originals"], filters.params() | {"limit": limit}, prepare=False).fetchall()
    return [i for (i,) in rows]


@dataclass(frozen=True)
class Estimate:
    """The planner's idea of a query: its matches, the articles its filters leave (`domain`: those
    of the outlet and dates, the language aside), whether it has a phrase, and the candidates a
    GIN bitmap without a window fetches (its matches, or a phrase's words in any order, before
    the filters)."""
    matches: int
    filtered: int
    phrase: bool
    candidates: int = 0
    domain: int = 0
    narrowed: bool = False  # an outlet or dates: an index of theirs can narrow a bitmap
    bigrams: bool = False  # only CJK terms (bigrams.only_bigrams): its phrases are counted fewer, not more
    word: bool = False  # one word (bigrams.one_word)

    @property
    def counted(self) -> bool:
        """Whether `matches` counts what PostgreSQL's statistics saw: one word among their most
        common lexemes. A lexeme outside them is estimated at no more than DEFAULT_TS_MATCH_SEL
        (0.5%) of the rows, and a phrase or several terms as if their words were independent."""
        return self.word and not self.phrase and self.matches > DEFAULT_TS_MATCH_SEL * self.filtered

    @property
    def margin(self) -> float:
        return WINDOW_MARGIN_PHRASE if self.phrase and not self.bigrams else WINDOW_MARGIN

    def window_span(self, pool: int) -> int | None:
        """How many of the newest articles of the outlet and dates a window should span to hold
        `pool` matches, or None when fetching every match is expected to cost less (a rare term)."""
        domain = max(self.domain, self.filtered, 1)
        span = math.ceil(self.margin * pool * domain / max(self.matches, 1))
        if span >= domain:
            return None
        cheapest = min(self.window_cost(pool, span, days=1), self.months_cost(span, 1, months=1, month_days=1))
        return span if cheapest < self.bitmap_cost() else None

    def window_cost(self, pool: int, span: int, days: int) -> float:
        lexemes = 3 * days
        # its articles, tested against its days, and the rows of its matches (before the language filter)
        return (span * (WINDOW_COST + LEXEME_COST * lexemes) + PLANNING_COST * lexemes
                + self.margin * pool * max(self.domain, 1) / max(self.filtered, 1))

    def months_cost(self, span: int, days: float, months: int, month_days: float) -> float:
        """A window of `months` whole months (0013, `month_days` from the first one's first day to
        the newest article's) holding the `days` of `span` articles: GIN steps through the rarer of
        the term's postings and the months', and the rows of the months' matches are fetched."""
        articles = min(max(self.domain, 1), span * max(1.0, month_days / days))
        lexemes = 3 * months
        stepped = min(articles, max(self.candidates, self.matches))
        return (stepped * (WINDOW_COST + LEXEME_COST * lexemes) + PLANNING_COST * lexemes
                + MATCH_COST * self.matches * articles / max(self.domain, self.filtered, 1))

    def bitmap_cost(self) -> float:
        every = MATCH_COST * max(self.candidates, self.matches)
        if not self.narrowed:
            return every
        # the outlet's or the dates' index ANDed with the bitmap: only the rows in their range fetched
        in_range = self.matches * max(self.domain, 1) / max(self.filtered, 1)
        return min(every, (MATCH_COST - 1) * self.candidates + RANGE_COST * self.domain + in_range)


@dataclass(frozen=True)
class Window:
    """The days a pool is looked for in (archive_window, 0011), from `since` to `until` (UTC days,
    both included); None: every match, its dominant form restricted by the others' absence. A
    window that held fewer than the pool is followed, in the same statement, by every match
    (search_page `bitmapped`, with the markers as they are)."""
    since: datetime | None = None
    until: datetime | None = None
    months: bool = False  # whole months (archive_periods, 0013), not days
    dominant: str | None = None  # every match: dominant_form()

    def params(self) -> dict[str, Any]:
        return {"window": self.since, "window_end": self.until, "months": self.months, "dominant": self.dominant}


EVERY_MATCH = Window()


def window_for(conn: psycopg.Connection, filters: Filters, estimate: Estimate, pool: int) -> Window:
    """The window of the newest articles expected to hold `pool` matches: from the date of the
    article `span` places below the newest (of the outlet, in the dates), read from a date index."""
    span = estimate.window_span(pool)
    if span is not None:
        exact = span <= MAX_SKIP
        newest, first, oldest = conn.execute(QUERIES["search_window"], filters.params() | {
            "skip": span if exact else None}, prepare=False).fetchone()
        if not exact and newest is not None and span < estimate.domain:
            # the dates' range in the proportion of the span: what a window of months needs
            oldest = newest - (newest - first) * (span / estimate.domain)
        if oldest is not None:  # None: fewer articles than the span, the window would be everything
            # a day more than the newest article's: one archived after this lookup, past midnight UTC
            until = newest + timedelta(days=1)
            days = (until - oldest).days + 1
            start, end = oldest.astimezone(timezone.utc), until.astimezone(timezone.utc)
            months = (end.year - start.year) * 12 + end.month - start.month + 1
            month_days = (end - start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)).days + 1
            costs = {Window(oldest, until): estimate.window_cost(pool, span, days) if days <= MAX_WINDOW_DAYS
                     else math.inf,
                     Window(oldest, until, months=True): estimate.months_cost(span, days, months, month_days)}
            window, cost = min(costs.items(), key=lambda kv: kv[1])
            if cost < estimate.bitmap_cost():
                return window
    return Window(dominant=dominant_form(conn))


_PHRASE_RE = re.compile(r"<(?:-|\d+)>")


def planner_estimate(conn: psycopg.Connection, filters: Filters) -> Estimate:
    plan = conn.execute(QUERIES["search_estimate"], filters.params(), prepare=False).fetchone()[0][0]["Plan"]
    branches = plan.get("Plans", []) if plan["Node Type"] == "Append" else [plan]
    domain = int(branches[0]["Plan Rows"])
    if len(branches) != 4:
        # the match folded to false (a query of operators only): the filters' branches are what is left
        return Estimate(0, int(branches[-1]["Plan Rows"]), False, 0, domain)
    _, filtered, match, candidates = branches
    conditions = json.dumps(match)  # the tsquery as the planner folded it: phrases show as <-> or <N>
    return Estimate(int(match["Plan Rows"]), int(filtered["Plan Rows"]), bool(_PHRASE_RE.search(conditions)),
                    int(candidates["Plan Rows"]), domain,
                    narrowed=any(v is not None for v in (filters.outlet, filters.since, filters.until)),
                    bigrams=bigrams.only_bigrams(filters.query), word=bigrams.one_word(filters.query))


def dominant_form(conn: psycopg.Connection) -> str | None:
    """The form every match is better restricted to by the absence of the other forms' markers
    (archive_candidates, 0012): one that holds nearly every article. GIN decodes a marker tested
    for its presence (about 14 ns an article, at 1,000,000 articles) and steps through one tested
    for its absence as a candidate (about 215 ns). Asked only for every match (0.4 ms)."""
    plan = conn.execute(QUERIES["search_forms"], prepare=False).fetchone()[0][0]["Plan"]
    return dominant(dict(zip(FORMS, (int(branch["Plan Rows"]) for branch in plan["Plans"]))))


def dominant(articles: dict[str, int]) -> str | None:
    """The form of `articles` (form: count) whose markers of the others, stepped through, cost less
    than its own decoded."""
    form, most = max(articles.items(), key=lambda kv: kv[1])
    return form if NEGATED_MARKER_COST * (sum(articles.values()) - most) < most else None


def stories(conn: psycopg.Connection, filters: Filters, *, limit: int = 20, offset: int = 0,
            pool: int = RANK_POOL) -> list[Story]:
    """Stories with a matching article (every story when `filters.query` is None), newest first,
    found among the newest matching articles (a pool grown until it holds the page)."""
    pool = max(pool, (offset + limit) * 5 // 4)
    # every story (no query): the newest articles, by the date index
    estimate = None if filters.query is None else planner_estimate(conn, filters)
    while True:
        window = EVERY_MATCH if estimate is None else window_for(conn, filters, estimate, pool)
        with conn.cursor(row_factory=class_row(Story)) as cur:
            rows = cur.execute(QUERIES["story_page"], filters.params() | window.params() | {
                "limit": limit, "offset": offset, "pool": pool,
                "phrase": estimate is not None and estimate.phrase}, prepare=False).fetchall()
        found = [s for s in rows if s.story_id is not None]
        if rows[0].pooled < pool or (found and (found[0].complete or 0) >= offset + limit):
            return found
        pool *= 4


def coverage(conn: psycopg.Connection, filters: Filters, *, budget_ms: int | None = None) -> list[CoverageDay] | None:
    """Every match of a query counted per UTC day and outlet; None when that takes more than
    `budget_ms` (PostgreSQL cancels it: a phrase found in 200,000 articles of a million is rechecked
    in each, 3 to 6 s)."""
    if budget_ms is None:
        return _coverage(conn, filters)
    try:
        with conn.transaction():
            previous, _ = conn.execute(QUERIES["statement_budget"], {"limit": f"{budget_ms}ms"}).fetchone()
            days = _coverage(conn, filters)
            conn.execute(QUERIES["statement_budget_reset"], {"limit": previous})
            return days
    except psycopg.errors.QueryCanceled:
        return None


def _coverage(conn: psycopg.Connection, filters: Filters) -> list[CoverageDay]:
    with conn.cursor(row_factory=class_row(CoverageDay)) as cur:
        return cur.execute(QUERIES["coverage_by_day"], filters.params(), prepare=False).fetchall()


def newest_article(conn: psycopg.Connection) -> int:
    return conn.execute(QUERIES["newest_article"]).fetchone()[0]


def article(conn: psycopg.Connection, article_id: int) -> Article | None:
    with conn.cursor(row_factory=class_row(Article)) as cur:
        return cur.execute(QUERIES["article_detail"], {"id": article_id}).fetchone()


def story_articles(conn: psycopg.Connection, story_key: int) -> list[StoryArticle]:
    with conn.cursor(row_factory=class_row(StoryArticle)) as cur:
        return cur.execute(QUERIES["story_articles"], {"story": story_key}).fetchall()


def raw_pages(conn: psycopg.Connection, article_ids: list[int]) -> list[RawPageRow]:
    with conn.cursor(row_factory=class_row(RawPageRow)) as cur:
        return cur.execute(QUERIES["raw_pages_of"], {"ids": article_ids}).fetchall()


def copy_record(c: CopyRow) -> dict[str, Any]:
    return {"id": c.id, "outlet": c.outlet, "url": c.url, "similarity": c.similarity, "published": c.published_at}


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """(text, matched) runs of a marked snippet, for a renderer to emphasise the matches."""
    parts: list[tuple[str, bool]] = []
    for i, chunk in enumerate(snippet.split(MARK_START)):
        if i == 0:
            parts.append((chunk, False))
            continue
        matched, _, rest = chunk.partition(MARK_END)
        parts += [(matched, True), (rest, False)]
    return [(text, matched) for text, matched in parts if text]


def plain_snippet(snippet: str) -> str:
    return " ".join(snippet.replace(MARK_START, "").replace(MARK_END, "").split())


def matched_terms(snippet: str) -> list[str]:
    return list(dict.fromkeys(text for text, matched in snippet_parts(snippet) if matched))



@dataclass(frozen=True)
class FilterProblem:
    """A filter that no article can pass: `name` is the filter (outlet, language, since), `message`
    says why, `suggestions` the archive's nearest values."""
    name: str
    message: str
    suggestions: list[str] = field(default_factory=list)


def filter_problem(conn: psycopg.Connection, filters: Filters) -> FilterProblem | None:
    """Why `filters` match nothing whatever the query: an empty date range, an outlet the archive
    lacks, a language no article has; None when they could match. Run after a search found nothing:
    a filter that matches nothing must say so, and searches that find something pay nothing."""
    if filters.since and filters.until and filters.since >= filters.until:
        return FilterProblem("since", f"since {filters.since:%Y-%m-%d %H:%M} is not before until "
                                      f"{filters.until:%Y-%m-%d %H:%M}: no article can be in that range")
    values: dict[str, list[str]] = {"outlet": [], "language": []}
    if filters.outlet is not None or filters.language is not None:
        for kind, value in conn.execute(QUERIES["filter_values"]):
            values[kind].append(value)
    if filters.outlet is not None and filters.outlet not in values["outlet"]:
        return _unknown("outlet", filters.outlet, values["outlet"])
    if filters.language is not None and not conn.execute(QUERIES["language_known"],
                                                         {"language": filters.language}).fetchone()[0]:
        return _unknown("language", filters.language, values["language"])
    return None


def _unknown(name: str, value: str, known: list[str]) -> FilterProblem:
    import difflib

    # 'kyodo' for 'demo-kyodo': a name containing the value first, then difflib's nearest spellings
    near = [k for k in sorted(known) if value.lower() in k.lower()]
    near += [k for k in difflib.get_close_matches(value.lower(), known, n=5, cutoff=0.5) if k not in near]
    shown = near[:5] or sorted(known)[:10]
    hint = (f" (did you mean {', '.join(shown)}?)" if near
            else f" (the archive has {', '.join(shown)}{', ...' if len(known) > 10 else ''})" if known else "")
    return FilterProblem(name, f"no {name} {value!r} in the archive{hint}", near[:5])


def query_reading(conn: psycopg.Connection, query: str) -> str:
    """PostgreSQL's reading of a query as tsquery text: `'kuril' | 'lavrov' & !'hockey'`."""
    return conn.execute(QUERIES["query_reading"], {"query": query}).fetchone()[0]


def ping(conn: psycopg.Connection) -> bool:
    return conn.execute(QUERIES["ping"]).fetchone()[0] == 1
