"""Japanese (and Chinese) text as PostgreSQL core full-text search can index it: character bigrams.

PostgreSQL's parser takes a whole run of kana and kanji as one "word" ("北方領土の返還について"),
so `北方領土` would only match itself. Here, after NFKC and casefolding, the character at
position k of a CJK run is indexed as the lexeme of the (up to) two characters starting there:
a run of n characters gives n-1 bigrams and its last character alone, at consecutive positions.
Latin words and numbers stay whole words. A query term becomes the phrase of its bigrams
(`'北方' <-> '方領' <-> '領土'`), so it matches exactly the texts containing it as a substring;
a single character becomes a prefix (`'党':*`: every occurrence starts some lexeme).

The query keeps web-search syntax (`"phrase"`, `OR`, `-exclusion`, whitespace = AND) with the
operator layout `websearch_to_tsquery` produces. Its output is tsquery *text* made only of
lexemes this module produced, each quoted and escaped (`quote`), and the operators below; it is
passed as a parameter and cast (`%(q)s::tsquery`), never spliced into SQL. Pure functions:
db/ stores what they return, and imports nothing above itself.
"""

from __future__ import annotations

import re
import unicodedata

# Kana, CJK ideographs (with 々 〆 〇 ヶ and the prolonged sound mark, all in these ranges).
_CJK = "\u3005-\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
_HAS_CJK = re.compile(rf"[{_CJK}]")
MAX_WORD = 60  # longer Latin "words" are noise (URLs, hashes); tsvector lexemes must stay < 2 kB
MAX_POSITION = 16383  # tsvector's limit: later positions are clamped, phrases past it may misfire
FIELD_GAP = 2  # positions left empty between title, description and text, so no phrase spans two


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII, half-width kana to full-width), casefolded."""
    return unicodedata.normalize("NFKC", text).casefold()


def uses_bigrams(language: str | None, text: str) -> bool:
    """Whether an article is indexed by bigrams: Japanese or Chinese, or no language and
    mostly kana/kanji in its opening."""
    if language:
        return language.lower()[:2] in ("ja", "zh")
    sample = text[:1000]
    return bool(sample) and len(_HAS_CJK.findall(sample)) > len(sample) // 5


def runs(text: str) -> list[tuple[str, bool]]:
    """(run, is_cjk) in order, of normalised text: CJK runs and Latin words/numbers."""
    return [(cjk or word, bool(cjk)) for cjk, word in _TOKEN.findall(normalize(text))
            if cjk or len(word) <= MAX_WORD]


def lexemes(text: str) -> list[str]:
    """The lexeme at each position: per CJK character the two characters starting there (the
    last one alone), per word the word."""
    out: list[str] = []
    for run, cjk in runs(text):
        out.extend(run[i:i + 2] for i in range(len(run))) if cjk else out.append(run)
    return out


def quote(lexeme: str) -> str:
    """A lexeme as tsvector/tsquery input: single-quoted, quote and backslash escaped."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_text(title: str, description: str | None, text: str) -> str:
    """tsvector input of an article: title weighted A, description B, text C."""
    positions: dict[str, list[str]] = {}
    pos = 1
    for body, weight in ((title, "A"), (description or "", "B"), (text, "C")):
        for lexeme in lexemes(body):
            positions.setdefault(lexeme, []).append(f"{min(pos, MAX_POSITION)}{weight}")
            pos += 1
        pos += FIELD_GAP
    # tsvector keeps at most 256 positions per lexeme; more only cost parsing time
    return " ".join(f"{quote(lex)}:{','.join(p[:256])}" for lex, p in positions.items())


def phrase(text: str) -> str | None:
    """tsquery text matching `text` as a substring (CJK) or word sequence; None without tokens."""
    parts: list[str] = []
    found = runs(text)
    for index, (run, cjk) in enumerate(found):
        last = index == len(found) - 1
        if not cjk:
            parts.append(quote(run))
        elif len(run) == 1:
            # alone or last: any lexeme starting with it; followed by more: the run ends here
            parts.append(quote(run) + ":*" if last else quote(run))
        else:
            parts.extend(quote(run[i:i + 2]) for i in range(len(run) - 1))
            if not last:
                parts.append(quote(run[-1]))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "(" + " <-> ".join(parts) + ")"


_EDGE = re.compile(r"^[\W_]+|[\W_]+$")  # punctuation around a highlighted term
_QUERY_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def _terms(query: str) -> list[tuple[str, str, bool]]:
    """(kind, text, negated) with kind 'term' or 'or', as websearch_to_tsquery reads the query:
    "quoted phrase", the word OR, -exclusion (of a word or a quote); an unquoted chunk is one term."""
    out: list[tuple[str, str, bool]] = []
    for minus, quoted, chunk in _QUERY_TOKEN.findall(query):
        if chunk.lower() == "or":
            out.append(("or", "", False))
        elif chunk:
            out.append(("term", chunk.lstrip("-"), chunk.startswith("-")))
        else:
            out.append(("term", quoted, minus == "-"))
    return out


def build_query(query: str | None) -> tuple[str | None, list[str]]:
    """(tsquery text or None, positive terms to highlight) of a web-search query.

    Whitespace is AND, OR between two terms is OR, a leading `-` negates; a dangling OR or
    a term without any word character drops out, as in `websearch_to_tsquery`.
    """
    if not query:
        return None, []
    out: list[str] = []
    highlight: list[str] = []
    want_or = False
    for kind, text, negated in _terms(query):
        if kind == "or":
            want_or = bool(out)
            continue
        built = phrase(text)
        if built is None:
            continue
        if out:
            out.append("|" if want_or else "&")
        out.append("!" + built if negated else built)
        if not negated:
            highlight.extend(_words(text))
        want_or = False
    return (" ".join(out) or None), list(dict.fromkeys(highlight))


def anchors(query: str | None) -> list[str]:
    """Where a snippet should look first (text_near, 0012): the query's positive phrases, then its
    positive words longest first (a stop word such as "of" is found everywhere, a name is not)."""
    phrases: list[str] = []
    for kind, text, negated in _terms(query or ""):
        words = _words(text)
        if kind == "term" and not negated and len(words) > 1:
            phrases.append(" ".join(words))
    _, words = build_query(query)
    return list(dict.fromkeys(phrases + sorted(words, key=len, reverse=True)))


def only_bigrams(query: str | None) -> bool:
    """Whether every term of a query is written in CJK characters alone, so that each is a phrase
    of the bigrams of one run: their estimate (the bigrams as if independent) counts fewer
    articles than hold them, never more."""
    terms = [text for kind, text, _ in _terms(query or "") if kind == "term"]
    return bool(terms) and all(runs(text) and all(cjk for _, cjk in runs(text)) for text in terms)


def one_word(query: str | None) -> bool:
    """Whether a query is a single positive word outside CJK: the one kind of query whose estimate
    is a count from PostgreSQL's statistics, not a product of guesses (db/search.py `Estimate`)."""
    terms = _terms(query or "")
    if len(terms) != 1:
        return False
    kind, text, negated = terms[0]
    return kind == "term" and not negated and len(_words(text)) == 1 and not any(cjk for _, cjk in runs(text))


def _words(text: str) -> list[str]:
    """The words of a term as the snippets mark them: NFKC, lower-case, edge punctuation off."""
    return [w for w in (_EDGE.sub("", part) for part in normalize(text).split()) if w]
