"""Bylines: who wrote an article, from the names its metadata and markup give.

Pages credit people, agencies and themselves in the same fields: a JSON-LD `author` typed
`Organization`, the outlet's own name in `<meta name=author>`, a numeric user id, a host
name, "Name, professor at ...", "hessenschau.de, Frankfurt, Germany". `choose_authors` keeps
the people, with the agencies credited beside them, and falls back to the outlet's credit
only when no source names a person.
"""

from __future__ import annotations

import re
from typing import Any

import lxml.html


def unique(values: Any) -> tuple[str, ...]:
    """Values in order, without empties and without repeats that differ only in case."""
    seen: dict[str, str] = {}
    for value in values:
        if value and value.casefold() not in seen:
            seen[value.casefold()] = value
    return tuple(seen.values())


def choose_authors(
    sources: list[list[str]], outlets: set[str | None], organisations: set[str], tree: lxml.html.HtmlElement
) -> tuple[str, ...]:
    """The first source that names a person (then author-page links), with the agencies it
    co-credits ("dpa" beside a reporter) but without the outlet's own name; failing that,
    the first source's credit as it stands ("kicker", "AFP")."""
    outlet_names = {o.casefold() for o in outlets if o}
    organisations = {o.casefold() for o in organisations}
    credit: tuple[str, ...] = ()
    for bylines in [*sources, list(author_links(tree))]:
        names: list[str] = []
        for byline in filter(None, bylines):
            # "hessenschau.de, Frankfurt, Germany": the outlet and its address.
            if "," in byline and (head := byline.split(",")[0].strip()).casefold() in outlet_names:
                credit = credit or (head,)
                continue
            parts = split_authors(byline)
            names.extend(parts)
        people = people_only((n for n in names if n.casefold() not in organisations), outlet_names)
        if people:
            return unique(n for n in names if n in people or n.casefold() in organisations - outlet_names)
        credit = credit or unique(n for n in names if any(ch.isalpha() for ch in n))
    return credit


def dublin_core_name(value: str | None) -> str | None:
    if value and value.count(",") == 1:
        family, given = (part.strip() for part in value.split(","))
        if family and given and len(family.split()) <= 2 and len(given.split()) <= 3:
            return f"{given} {family}"
    return value


# Byline labels in the languages of the outlets we read: "By", "Von", "Autor:", "Par", ...
_BY = re.compile(
    r"^\s*(?:by|von|vom|autor|autorin|autoren|author|authors|text|texte|par|por|door|av|af|od|przez|tekst)"
    r"(?:\s*:\s*|\s+)",
    re.IGNORECASE,
)
# "and" in the same languages; a lone letter ("y", "e", "i") is left alone, since it also
# stands inside names ("Ortega y Gasset").
_AUTHOR_SEPARATORS = re.compile(
    r"\s*(?:;|,|、|&|\||\b(?:and|und|og|och|et|en|ve|oraz|и|та)\b)\s*", re.IGNORECASE
)
# Desk initials after a name: "Elena Oberholzer (obe)".
_INITIALS = re.compile(r"\s*\([^()]{1,6}\)$")


def split_authors(text: str | None) -> list[str]:
    """"By Jane Doe and John Roe" -> ["Jane Doe", "John Roe"]."""
    text = _BY.sub("", " ".join((text or "").split()))
    names = (_INITIALS.sub("", name) for name in _AUTHOR_SEPARATORS.split(text))
    return [name for name in names if name and len(name) <= 80]


HOST_NAME = re.compile(r"[\w-]+(?:\.[\w-]+)+(?::\d+)?")


def people_only(names: Any, outlets: set[str]) -> tuple[str, ...]:
    """Drop what is no person's name: an outlet's name (casefolded in `outlets`), a host
    name, a number, or a phrase too long for a name (an affiliation split off at a comma)."""
    return tuple(
        name for name in names
        if any(ch.isalpha() for ch in name)
        and name.casefold() not in outlets
        and not HOST_NAME.fullmatch(name)
        and len(name.split()) <= 6
    )


# Author pages: /author/jane-doe, /autoren/name/..., /reporter/..., /journalist/...
_AUTHOR_PATH = re.compile(r"/(?:authors?|autor(?:en|e|i)?|reporter|journalist)/[^/?#]", re.IGNORECASE)


def author_links(tree: lxml.html.HtmlElement) -> tuple[str, ...]:
    """Names linked to author pages, from the first such link's byline only: later ones
    are often teasers for other articles."""
    byline = None
    names: list[str] = []
    for a in tree.iter("a"):
        if not (a.get("rel") == "author" or _AUTHOR_PATH.search(a.get("href") or "")):
            continue
        name = " ".join(a.text_content().split())
        if not name:
            continue
        if byline is None:
            # The byline is the largest element around the link that is still one line or so.
            byline = a
            for ancestor in a.iterancestors():
                if len(ancestor.text_content()) > 200:
                    break
                byline = ancestor
        elif not any(ancestor is byline for ancestor in a.iterancestors()):
            break
        names.extend(split_authors(name))
    return unique(names)
