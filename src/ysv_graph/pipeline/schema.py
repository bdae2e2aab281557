"""The curated-data schema: which kinds of record exist and what each field holds.

This table is the single description of the YAML format (documented for curators in data/README.md).
The loader checks every record against it; the mapper reads records that already passed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ONS_PFA_PATTERN = r"^(E23|W15)[0-9]{6}$"
LEGISLATION_PATTERN = r"^http://www\.legislation\.gov\.uk/id/[a-z]+/[0-9]{4}/[0-9]+(/[a-z]+/[0-9A-Za-z]+)*$"
GOVUK_SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
POLICE_UK_ID_PATTERN = r"^[a-z]+(?:-[a-z]+)*$"
VERSION_PATTERN = r"^[0-9]+\.[0-9]+\.[0-9]+$"  # a release's version: three whole numbers (semantic versioning)


@dataclass(frozen=True)
class Field:
    """One field of a record.

    type: str | text | int | number | bool | date | datetime | year | url | enum | ref | source | legislation
          | financial_year | elements | release | field_sources, and id | code | uri for a record's key (what each
          holds: convert; field_sources and elements are mappings, read by load._Reader)
    many: the value is a list of such values.
    refs: for type ref, the kinds the id may name.
    """

    type: str
    required: bool = False
    many: bool = False
    refs: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    pattern: str | None = None


@dataclass(frozen=True)
class Kind:
    key: str  # the field that identifies a record: id, code or uri
    fields: dict[str, Field] = field(default_factory=dict)


def _f(type_: str, required: bool = False, many: bool = False, refs=(), choices=(), pattern=None) -> Field:
    return Field(type_, required, many, tuple(refs), tuple(choices), pattern)


AGENTS = ("organisations", "groups", "people", "forces", "vrus")
# field_sources: {field: [source ids]}, the documents that back each field (statement-level provenance); a field
# may also be written {value: X, sources: [ids]} (load.py puts both into values["field_sources"])
COMMON = {"sources": _f("source", many=True), "note": _f("text"), "field_sources": _f("field_sources")}

SOURCE_FIELDS = {
    "title": _f("str", True),
    "url": _f("url", True),
    "alternate_urls": _f("url", many=True),
    "publisher_name": _f("str", True),
    "publisher": _f("ref", refs=("organisations",)),
    "issued": _f("date"),
    "about": _f("ref", refs=("reports", "responses")),
    "kind": _f("enum", True, choices=("report", "web-page", "news-article", "letter", "blog-post", "api",
                                      "dataset", "parliamentary-answer", "legislation", "press-release")),
    "note": _f("text"),
}

DATASET_FIELDS = {
    "title": _f("str", True),
    "description": _f("text", True),
    "about": _f("str", True, pattern=ID_PATTERN),
    "version": _f("str", True, pattern=VERSION_PATTERN),
    "issued": _f("date", True),
    "released": _f("datetime", True),
    "keywords": _f("str", many=True),
    "contact_name": _f("str", True),
    "licence": _f("url", True),
    "changes": _f("text"),  # what changed in this release, in words (optional)
    "releases": _f("release", many=True),  # the earlier releases, oldest first (pipeline/releasing.py)
}

RELEASE_FIELDS = {  # one earlier release in dataset.yaml's releases:
    "version": _f("str", True, pattern=VERSION_PATTERN),
    "issued": _f("date", True),
    "changes": _f("text"),
}

KINDS: dict[str, Kind] = {
    "organisations": Kind("id", {
        "name": _f("str", True),
        "kind": _f("enum", True, choices=("government-department", "inspectorate", "charity",
                                          "police-and-crime-commissioner", "professional-body", "prosecutor",
                                          "partnership", "other")),
        "acronym": _f("str"),
        "govuk_slug": _f("str", pattern=GOVUK_SLUG_PATTERN),
        "homepage": _f("url"),
        "area": _f("ref", refs=("areas",)),
    }),
    "groups": Kind("id", {"name": _f("str", True), "description": _f("text")}),
    "people": Kind("id", {
        "name": _f("str", True), "role": _f("str"), "member_of": _f("ref", refs=("organisations", "forces")),
    }),
    "areas": Kind("code", {
        "name": _f("str", True), "country": _f("enum", True, choices=("England", "Wales")),
    }),
    "forces": Kind("id", {
        "name": _f("str", True), "area": _f("ref", refs=("areas",)), "territorial": _f("bool", True),
    }),
    "vrus": Kind("id", {
        "name": _f("str", True), "name_known": _f("bool"), "area": _f("ref", True, refs=("areas",)),
        "funded_from": _f("year", True), "homepage": _f("url"),
    }),
    "reports": Kind("id", {
        "title": _f("str", True),
        "kind": _f("enum", True, choices=("inspection-report", "research-report")),
        "publisher": _f("ref", True, refs=("organisations",)),
        "issued": _f("date", True),
        "urls": _f("url", True, many=True),
        "licence": _f("url"),
        "companion_of": _f("ref", refs=("reports",)),
        "inspection": _f("ref", refs=("inspections",)),
        "recommendations_stated": _f("int"),
        "description": _f("text"),
    }),
    "sections": Kind("id", {
        "report": _f("ref", True, refs=("reports",)),
        "number": _f("str"),
        "title": _f("str", True),
        "parent": _f("ref", refs=("sections",)),
        "order": _f("int", True),
        "theme": _f("ref", refs=("themes",)),
    }),
    "inspections": Kind("id", {
        "title": _f("str", True),
        "carried_out_by": _f("ref", True, many=True, refs=("organisations",)),
        "areas_inspected": _f("int", True),
        "areas_with_vru": _f("int"),
        "areas_without_vru": _f("int"),
        "inspected_areas": _f("ref", many=True, refs=("areas",)),
        "inspected_areas_status": _f("enum", True, choices=("unknown", "partial", "complete")),
        "description": _f("text"),
    }),
    "activities": Kind("id", {
        "inspection": _f("ref", True, refs=("inspections",)),
        "title": _f("str", True),
        "description": _f("text", True),
        "carried_out_by": _f("ref", many=True, refs=("organisations",)),
        "participants": _f("text"),
    }),
    "themes": Kind("id", {
        "label": _f("str", True),
        "definition": _f("text", True),
        "top": _f("bool"),
        "broader": _f("ref", refs=("themes",)),
        "related": _f("ref", many=True, refs=("themes",)),
        "section": _f("ref", refs=("sections",)),
    }),
    "findings": Kind("id", {
        "label": _f("str", True),
        "statement": _f("text", True),
        "level": _f("enum", True, choices=("headline", "chapter")),
        "report": _f("ref", True, refs=("reports",)),
        "section": _f("ref", refs=("sections",)),
        "themes": _f("ref", True, many=True, refs=("themes",)),
        "concerns": _f("ref", many=True, refs=AGENTS),
        "instruments": _f("ref", many=True, refs=("instruments",)),
    }),
    "recommendations": Kind("id", {
        "report": _f("ref", True, refs=("reports",)),
        "status": _f("enum", True, choices=("described", "undescribed")),
        "label": _f("str"),
        "statement": _f("text"),
        "addressed_to": _f("ref", many=True, refs=("organisations", "groups")),
        "deadline": _f("date"),
        "answers": _f("ref", many=True, refs=("findings",)),
        "instruments": _f("ref", many=True, refs=("instruments",)),
    }),
    "responses": Kind("id", {
        "title": _f("str", True),
        "report": _f("ref", True, refs=("reports",)),
        "author": _f("ref", True, refs=("organisations",)),
        "issued": _f("date"),
        "url": _f("url", True),
        "addressed_to": _f("ref", many=True, refs=("organisations", "people")),
        "recommendations": _f("ref", many=True, refs=("recommendations",)),
        "signed_by": _f("ref", many=True, refs=("people",)),
    }),
    "response_statements": Kind("id", {
        "response": _f("ref", True, refs=("responses",)),
        "text": _f("text", True),
        "recommendations": _f("ref", many=True, refs=("recommendations",)),
        "findings": _f("ref", many=True, refs=("findings",)),
        "definitions": _f("ref", many=True, refs=("definitions",)),
        "instruments": _f("ref", many=True, refs=("instruments",)),
    }),
    "figures": Kind("id", {
        "label": _f("str", True),
        "value": _f("number", True),
        "unit": _f("enum", True, choices=("offence", "police-force-area", "document", "person", "gbp", "year",
                                          "unit")),
        "qualifier": _f("enum", choices=("exact", "more-than", "approximately")),
        "period_start": _f("date"),
        "period_end": _f("date"),
        "year": _f("year"),
        "financial_year": _f("financial_year"),
        "area": _f("ref", refs=("areas",)),
        "area_description": _f("text"),
        "reported_in": _f("ref", refs=("reports",)),
        "subjects": _f("ref", many=True, refs=("organisations", "groups", "forces", "vrus", "reports",
                                               "inspections", "activities", "instruments", "findings",
                                               "recommendations")),
    }),
    "instruments": Kind("id", {
        "label": _f("str", True),
        "definition": _f("text", True),
        "kind": _f("enum", True, choices=("power", "order", "injunction", "duty", "outcome-code")),
        "notation": _f("str"),
        "official_wording": _f("text"),
        "in_use_from": _f("date"),
        "legislation": _f("legislation", many=True),
    }),
    "legislation": Kind("uri", {
        "title": _f("str", True),
        "part_of": _f("legislation"),
    }),
    "definitions": Kind("id", {
        "label": _f("str", True),
        "definition": _f("text", True),
        "min_age": _f("int"),
        "max_age": _f("int"),
        "elements": _f("elements", many=True),
    }),
}

for _kind in KINDS.values():
    _kind.fields.update(COMMON)

KEY_PATTERNS = {"id": ID_PATTERN, "code": ONS_PFA_PATTERN, "uri": LEGISLATION_PATTERN}


# --- values: what a YAML scalar may hold for each type of field ------------------------------------------------
# The limits are documented for curators in data/README.md. Each keeps a value that the later stages (mapping,
# reasoning, the writers, the site's file names) cannot handle from getting past the loader.

# An id names a page of the site (site/doc/<kind>/<id>.html, one file name, at most 255 bytes on most file
# systems) and is part of every IRI of its record. The longest id in data/ has 44 characters.
MAX_ID_LENGTH = 100
RESERVED_IDS = frozenset({"index"})  # a record called so would take the place of its kind's index page
# Years, dates and times: four-digit years from 1000 (xsd:gYear has no year 0, and a year below 1000 is not
# written with four digits) to 2999 (a period that ends on the last day can still be given in whole days).
MIN_YEAR, MAX_YEAR = 1000, 2999
# Whole numbers have at most this many digits, and so does a number before and after its point (10**15 is within
# what a JSON-LD reader keeps exactly; Python refuses to read integers of more than 4,300 digits).
MAX_DIGITS = 15

URL_RE = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
YEAR_RE = re.compile(r"^[0-9]{4}$")
FINANCIAL_YEAR_RE = re.compile(r"^([0-9]{4})-([0-9]{4})$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
DATETIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
INT_RE = re.compile(r"^-?[0-9]+$")
WHOLE_RE = re.compile(r"^[0-9]+$")
NUMBER_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
# characters no published format may hold (XML and HTML forbid them; a YAML "\0" escape makes one)
CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")

_YAML = "tag:yaml.org,2002:"
TEXT_TAG, NULL_TAG, BOOL_TAG = _YAML + "str", _YAML + "null", _YAML + "bool"
# what YAML reads a plain scalar as, by its tag (!!str also for a quoted one); any other tag (!!binary, !custom)
# is refused
PLAIN_TAGS = {TEXT_TAG: "text", _YAML + "int": "a number", _YAML + "float": "a number", BOOL_TAG: "true or false",
              NULL_TAG: "nothing", _YAML + "timestamp": "a date"}
# the tags a value of these types may carry: a boolean is written true or false; an id, code or uri is text
# (`id: 2019` is read by YAML as a number); the other types take any of PLAIN_TAGS and check the text
TAGS = {"bool": {BOOL_TAG}, "id": {TEXT_TAG}, "code": {TEXT_TAG}, "uri": {TEXT_TAG}}


class BadValue(ValueError):
    """Why a scalar is not a value of its field's type (the message, without file, line or field)."""


def key_problem(key: str, value: str) -> str | None:
    """Why value cannot be a record's key of this kind (id, code or uri), or None if it can."""
    if not re.match(KEY_PATTERNS[key], value):
        return f"'{_short(value)}' is not a valid {key}"
    if key == "id" and len(value) > MAX_ID_LENGTH:
        return f"'{_short(value)}' is {len(value)} characters long; an id has at most {MAX_ID_LENGTH}"
    if key == "id" and value in RESERVED_IDS:
        return f"'{value}' is kept for the site's index pages (site/doc/<kind>/index.html); choose another id"
    return None


def _short(value: str) -> str:
    return value if len(value) <= 60 else value[:50] + "…" + value[-5:]


def _year(year: int, raw: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise BadValue(f"'{raw}' is outside the years {MIN_YEAR} to {MAX_YEAR}")


def _digits(raw: str, digits: str, what: str = "") -> None:
    if len(digits.lstrip("0")) > MAX_DIGITS:
        raise BadValue(f"'{_short(raw)}' has more than {MAX_DIGITS} digits{what}")


def convert(spec: Field, raw: str, tag: str) -> Any:
    """The value of a scalar (its text as written, and its YAML tag) for a field of this type; BadValue if it is
    not one."""
    import datetime as dt

    kind = spec.type
    raw = raw.strip()
    if raw == "" or tag == NULL_TAG:
        raise BadValue("is empty")
    if tag not in PLAIN_TAGS:
        raise BadValue(f"the YAML tag {tag.replace(_YAML, '!!')} is not allowed here")
    if tag not in TAGS.get(kind, PLAIN_TAGS):
        if kind == "bool":
            raise BadValue(f"'{_short(raw)}' is not true or false")
        raise BadValue(f"'{_short(raw)}' is read by YAML as {PLAIN_TAGS[tag]}, not as text: write it in quotes")
    if CONTROL_RE.search(raw):
        raise BadValue(f"holds the control character U+{ord(CONTROL_RE.search(raw).group()):04X}")
    if kind in ("id", "code", "uri"):
        problem = key_problem(kind, raw)
        if problem:
            raise BadValue(problem)
        return raw
    if kind in ("str", "text", "enum", "ref", "source"):
        value = " ".join(raw.split()) if kind == "str" else raw
        if kind == "enum" and value not in spec.choices:
            raise BadValue(f"'{_short(value)}' is not one of: {', '.join(spec.choices)}")
        if kind in ("ref", "source") and key_problem("id", value) and key_problem("code", value):
            raise BadValue(f"'{_short(value)}' is not a valid id")
        if spec.pattern and not re.match(spec.pattern, value):
            raise BadValue(f"'{_short(value)}' does not match the pattern {spec.pattern}")
        return value
    if kind == "url":
        if not URL_RE.match(raw) or not _is_iri(raw):
            raise BadValue(f"'{_short(raw)}' is not a web address (http:// or https://)")
        return raw
    if kind == "legislation":
        if not re.match(KEY_PATTERNS["uri"], raw):
            raise BadValue(f"'{_short(raw)}' is not a legislation.gov.uk /id/ URI")
        return raw
    if kind == "bool":
        if raw not in ("true", "false"):  # not yes/no/on/off, True or !!bool maybe
            raise BadValue(f"'{_short(raw)}' is not true or false")
        return raw == "true"
    if kind == "int":
        if not WHOLE_RE.match(raw):
            raise BadValue(f"'{_short(raw)}' is not a whole number of 0 or more")
        _digits(raw, raw)
        return int(raw)
    if kind == "number":
        cleaned = raw.replace("_", "")
        if not NUMBER_RE.match(cleaned):
            raise BadValue(f"'{_short(raw)}' is not a number")
        if cleaned.startswith("-"):
            raise BadValue(f"'{_short(raw)}' is below 0: a figure counts or measures")
        whole, _, fraction = cleaned.partition(".")
        _digits(raw, whole, " before its point")
        if len(fraction) > MAX_DIGITS:
            raise BadValue(f"'{_short(raw)}' has more than {MAX_DIGITS} digits after its point")
        return int(cleaned) if INT_RE.match(cleaned) else cleaned
    if kind == "year":
        if not YEAR_RE.match(raw):
            raise BadValue(f"'{_short(raw)}' is not a year such as 2019")
        _year(int(raw), raw)
        return int(raw)
    if kind == "financial_year":
        match = FINANCIAL_YEAR_RE.match(raw)
        if not match or int(match.group(2)) != int(match.group(1)) + 1:
            raise BadValue(f"'{_short(raw)}' is not a financial year such as 2023-2024")
        _year(int(match.group(1)), raw)
        _year(int(match.group(2)), raw)
        return raw
    if kind == "datetime":
        if not DATETIME_RE.match(raw):
            raise BadValue(f"'{_short(raw)}' is not a UTC time written YYYY-MM-DDTHH:MM:SSZ")
        try:
            value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise BadValue(f"'{raw}' is not a real time") from None
        _year(value.year, raw)
        return value
    if kind == "date":
        if not DATE_RE.match(raw):
            raise BadValue(f"'{_short(raw)}' is not a date written YYYY-MM-DD")
        try:
            value = dt.date.fromisoformat(raw)
        except ValueError:
            raise BadValue(f"'{raw}' is not a real calendar date") from None
        _year(value.year, raw)
        return value
    raise AssertionError(f"unknown field type {kind}")  # pragma: no cover - schema bug


def _is_iri(text: str) -> bool:
    """Whether the writers (pyoxigraph) take text as an absolute IRI (rdflib takes nearly anything)."""
    import pyoxigraph

    try:
        pyoxigraph.NamedNode(text)
    except ValueError:
        return False
    return True
