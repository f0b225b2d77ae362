"""Link one article into the archive: its wire service, the original it copies, its story.

Shared by `crawler.ingest` (a page being stored) and `wirewatch dedupe --rebuild` (every
article again, in storage order), so both make the same decisions. `decide` only reads;
`apply` writes the indexes and the links of other rows. Both run inside the caller's
transaction, under the dedupe advisory lock.

Cost per article, whatever the archive's size: one indexed fingerprint lookup, one GIN
probe of the LSH band keys, `similarity` on at most VERIFY_CANDIDATES texts; for an
original, two term-frequency lookups and one GIN probe of its rarest terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import psycopg

from crawler import minhash, stories
from crawler.dedupe import NEAR_DUPLICATE_THRESHOLD, Candidate, choose_original, similarity, text_fingerprint
from crawler.text_keys import TextKeys
from crawler.wires import detect_wire, is_wire_home
from db import articles, bands
from db import stories as story_rows

# Characters of each archived text the near-duplicate check reads; dedupe.similarity bounds
# its own work further, this bounds what travels from PostgreSQL.
COMPARE_CHARS = 4000
# Band-key matches verified with `similarity`, most shared keys first. A true copy shares
# most of the 16 keys; one sharing a single key is a chance collision.
VERIFY_CANDIDATES = 8
STORY_CANDIDATES = 20
NEWCOMER_ID = 2**63 - 1


@dataclass(frozen=True)
class Facts:
    """What linking needs to know about an article (stored or about to be)."""

    url: str
    outlet: str
    outlet_wire: bool  # the outlet is configured as a wire service
    title: str
    text: str
    authors: tuple[str, ...]
    published_at: datetime | None
    fetched_at: datetime

    @property
    def at(self) -> datetime:
        return self.published_at or self.fetched_at


@dataclass(frozen=True)
class Decision:
    text_hash: str
    wire_service: str | None
    band_keys: list[int]
    same_text: list[articles.CandidateRow]
    copy_of: int | None = None  # the original it copies
    similarity: float | None = None
    replaces: articles.CandidateRow | None = None  # an archived original this earlier one takes over
    story_id: int | None = None
    story_partner: int | None = None  # an original without a story yet that this one joins
    term_weights: dict[int, float] = field(default_factory=dict)  # for an original: its event terms
    vector: dict[int, float] = field(default_factory=dict)


def decide(conn: psycopg.Connection, facts: Facts, *, window: timedelta, before: int = NEWCOMER_ID,
           stories_too: bool = True, text_keys: TextKeys | None = None) -> Decision:
    """What the archive says about an article; only articles stored before id `before` count.
    `stories_too=False` stops after the copy check (benchmarks time the two apart). `text_keys`:
    crawler.text_keys.text_keys of the facts' title, text and authors, when an extraction worker
    computed them; computed here otherwise (the story terms only if a story is looked for)."""
    text_hash = text_keys.text_hash if text_keys else text_fingerprint(facts.text)
    wire_service = text_keys.wire_service if text_keys else detect_wire(facts.text, facts.authors)
    keys = text_keys.band_keys if text_keys else minhash.text_band_keys(facts.text)
    weights = text_keys.term_weights if text_keys else None
    same = articles.same_text(conn, text_hash, COMPARE_CHARS, before=before)
    match, score = _best_match(conn, facts, same, keys, window, before)
    base = Decision(text_hash=text_hash, wire_service=wire_service, band_keys=keys, same_text=same)
    if match is not None:
        original = match if match.copy_of is None else articles.candidate(conn, match.copy_of, chars=COMPARE_CHARS)
        newcomer = Candidate(id=before, published_at=facts.published_at, fetched_at=facts.fetched_at,
                             wire=facts.outlet_wire or is_wire_home(wire_service, facts.url))
        if choose_original([_as_candidate(original), newcomer]) is not newcomer:
            score = score if original.id == match.id else similarity(facts.text, original.text)
            # A copy carries its original's wire even where the republisher dropped the credit.
            return replace(base, copy_of=original.id, similarity=score, story_id=original.story_id,
                           wire_service=wire_service or original.wire_service)
        taken = replace(base, replaces=original, story_id=original.story_id)
        if original.story_id is None and stories_too:
            # the original it takes over was in no story yet: another report may be (never that original)
            taken = _find_story(conn, facts, taken, before, weights, exclude=original.id)
        return taken
    return _find_story(conn, facts, base, before, weights) if stories_too else base


def apply(conn: psycopg.Connection, article_id: int, facts: Facts, decision: Decision) -> None:
    """Index the article and update the rows its arrival changes (not its own row)."""
    if decision.band_keys:
        bands.insert_bands(conn, article_id, facts.at, decision.band_keys)
    if decision.replaces is not None:
        _take_over(conn, article_id, facts, decision.replaces, decision.story_id)
    if decision.vector:
        story_rows.insert_vector(conn, article_id, facts.at, decision.vector)
        story_rows.count_document(conn, list(decision.term_weights))
    if decision.story_partner is not None:
        articles.set_story(conn, decision.story_partner, decision.story_partner)


def _best_match(
    conn: psycopg.Connection, facts: Facts, same: list[articles.CandidateRow], keys: list[int],
    window: timedelta, before: int,
) -> tuple[articles.CandidateRow | None, float]:
    if same:
        return same[0], 100.0
    best: articles.CandidateRow | None = None
    best_score = 0.0
    for row in articles.lsh_candidates(conn, keys, around=facts.at, window=window, chars=COMPARE_CHARS,
                                       limit=VERIFY_CANDIDATES):
        if row.id >= before:
            continue
        score = similarity(facts.text, row.text)
        if score > best_score:
            best, best_score = row, score
    if best is not None and best_score >= NEAR_DUPLICATE_THRESHOLD:
        return best, best_score
    return None, 0.0


def _find_story(conn: psycopg.Connection, facts: Facts, base: Decision, before: int,
                weights: dict[int, float] | None, exclude: int | None = None) -> Decision:
    if weights is None:
        weights = stories.term_weights(facts.title, facts.text)
    if not weights:
        return base
    documents, df = story_rows.document_frequencies(conn, list(weights))
    # Count this article in, as the candidates counted themselves: otherwise its own terms
    # alone would look rare and the comparison would depend on which report came first.
    documents += 1
    df = {t: df.get(t, 0) + 1 for t in weights}
    vector = stories.top_terms(weights, df, documents, stories.VECTOR_TERMS)
    probe = list(stories.top_terms(vector, df, documents, stories.PROBE_TERMS))
    candidates = [c for c in story_rows.story_candidates(
        conn, probe, article_id=before, around=facts.at, window=stories.STORY_WINDOW, limit=STORY_CANDIDATES,
    ) if c.article_id < before and c.article_id != exclude]
    unseen = list({t for c in candidates for t in c.terms if t not in df})
    if unseen:
        df |= story_rows.document_frequencies(conn, unseen)[1]
    mine = stories.tfidf(vector, df, documents)
    best: tuple[float, story_rows.StoryCandidate] | None = None
    for candidate in candidates:
        theirs = stories.tfidf(dict(zip(candidate.terms, candidate.weights)), df, documents)
        score = stories.cosine(mine, theirs)
        if stories.same_story(score, len(mine.keys() & theirs.keys())) and (best is None or score > best[0]):
            best = (score, candidate)
    story_id = partner = None
    if best is not None:
        story_id = best[1].story_id or best[1].article_id
        partner = None if best[1].story_id else best[1].article_id
    return replace(base, story_id=story_id, story_partner=partner, term_weights=weights, vector=vector)


def _take_over(conn: psycopg.Connection, article_id: int, facts: Facts, old: articles.CandidateRow,
               story_id: int | None) -> None:
    """An earlier original arrived late: the old original and its copies become its copies, each
    with its similarity to the new original, in the new original's story."""
    copies = articles.copies_of(conn, [old.id])[old.id]
    articles.set_copy_link(conn, old.id, copy_of=article_id, similarity=similarity(facts.text, old.text),
                           story_id=story_id)
    for copy in copies:
        text = articles.candidate(conn, copy.id, chars=COMPARE_CHARS).text
        articles.set_copy_link(conn, copy.id, copy_of=article_id, similarity=similarity(facts.text, text),
                               story_id=story_id)


def _as_candidate(row: articles.CandidateRow) -> Candidate:
    return Candidate(id=row.id, published_at=row.published_at, fetched_at=row.fetched_at,
                     wire=row.wire or is_wire_home(row.wire_service, row.url))
