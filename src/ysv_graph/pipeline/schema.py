"""The curated-data schema: which kinds of record exist and what each field holds.

This table is the single description of the YAML format (documented for curators in data/README.md).
The loader checks every record against it; the mapper reads records that already passed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ONS_PFA_PATTERN = r"^(E23|W15)[0-9]{6}$"
LEGISLATION_PATTERN = r"^http://www\.legislation\.gov\.uk/id/[a-z]+/[0-9]{4}/[0-9]+(/[a-z]+/[0-9A-Za-z]+)*$"
GOVUK_SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
POLICE_UK_ID_PATTERN = r"^[a-z]+(?:-[a-z]+)*$"


@dataclass(frozen=True)
class Field:
    """One field of a record.

    type: str | text | int | number | bool | date | year | url | enum | ref | code | legislation
          | financial_year | elements
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
COMMON = {"sources": _f("source", many=True), "note": _f("text")}

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
    "version": _f("str", True, pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$"),
    "issued": _f("date", True),
    "released": _f("datetime", True),
    "keywords": _f("str", many=True),
    "contact_name": _f("str", True),
    "licence": _f("url", True),
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
