"""Generate a synthetic corpus of inspection reports as curated YAML, for benchmarks and scaling tests.

    .venv/bin/python benchmarks/corpus.py --reports N --out DIR [--seed S]
    .venv/bin/ysv-graph build --data DIR --out DIR-out

TEST DATA ONLY. Nothing here describes a real inspection; every generated source document says "Synthetic" in its
title and note, and its web addresses are under https://example.org/synthetic/. Never write a corpus into data/ or
build one into the real out/ (generate() refuses both).

What DIR holds
--------------
- dataset.yaml: data/dataset.yaml with "(synthetic test corpus of N reports, seed S)" added to the title.
- Every folder of data/, copied byte for byte, the real report and its responses included. The real report is
  report number 0 of the corpus: the groups, organisations, instruments, definitions, forces, VRUs and areas that the
  synthetic records refer to are defined across the real folders (chief-constables lives in a response folder,
  violence-reduction-units and most instruments in the report folder), so copying all of data/ keeps every
  reference valid without moving records, and the shared reference data is exactly the real dataset.
- synthetic-pccs/: shared by every synthetic report: a police and crime commissioner (and one person) for each
  police force area that has one but has no PCC in data/ (areas whose PCC data/ already holds reuse the real
  record). Synthetic responses are authored by these.
- Per synthetic report i (1..N; ids prefixed syv-s{i:04d}-, so the real syv-inspection-report still sorts first and
  stays the dataset's primary topic; folders synthetic-report-{i:04d}...), averages over 100 reports:
  synthetic-report-{i:04d}/ with source.yaml (kind report) and one file per kind: 1 report (two example.org urls,
  recommendations_stated = the recommendations made), 1 inspection (6-14 areas, the VRU split computed from the
  real VRU areas; the list of areas complete, unknown or, now and then, partial), 3.6 activities, 25 sections
  (Summary with five headings, Introduction with five, three numbered chapters with 2-4 sub-sections each,
  sometimes a Recommendations section and an annex), 14 themes (three top themes, one per chapter sub-section with
  broader, two summary themes with related), 22.5 findings (8 headline, the rest in chapter sub-sections; about
  seven in ten concern real organisations, groups, forces or VRUs, a quarter name real instruments), 6.3 recommendations
  (4-8; three in four described, with addressees among real groups and organisations and mostly a deadline),
  10 figures (every unit, period kind and qualifier; an area, an area description or neither);
  and 2-4 (3.0) folders synthetic-report-{i:04d}-response-{force}/: source.yaml (kind letter or web-page), one
  responses record by the area's PCC and 2-5 (3.6) response_statements answering recommendations, findings,
  instruments or the real working definition. Records a response answers cite its folder under `sources:`, as in
  data/. Text is generated from small word lists; it makes no claim about the real world.

Size: about 1,050 asserted triples per synthetic report, counted after the build's dataset description (of which
~160 are that description: input files, checksums, sources) - about the size of the real report with its responses.
The baseline is the corpus of --reports 0 (data/ plus synthetic-pccs/, 4,982 asserted triples in November 2026).

Reproducible: report i depends only on (seed, i) and data/, so the same N and seed give byte-identical files, and
the corpus for N is the corpus for a smaller N plus further reports (only dataset.yaml's title differs).
"""
from __future__ import annotations

import argparse
import os
import calendar
import datetime as dt
import json
import random
import re
import shutil
import sys
import textwrap
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
SYNTHETIC_URL = "https://example.org/synthetic"
PCC_FOLDER = "synthetic-pccs"
GENERATOR = "benchmarks/corpus.py"
MARKER = "(synthetic test corpus"  # in dataset.yaml's title: marks a folder generate() may replace

# --- YAML in the curated style ---------------------------------------------------------------------------------


class Raw(str):
    """A scalar written as is, unquoted (decimal numbers, financial years)."""


WIDTH = 118
FOLDED_FIELDS = {"description", "statement", "definition", "note", "text", "participants", "label", "title"}
_PLAIN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ,.;'()/&?%\-]*")
_URL_RE = re.compile(r"https?://[A-Za-z0-9._~/%?=&+-]+")
_RESERVED = {"yes", "no", "on", "off", "true", "false", "null", "y", "n", "~"}


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Raw):
        return str(value)
    text = str(value)
    if _URL_RE.fullmatch(text):
        return text
    if _PLAIN_RE.fullmatch(text) and text.lower() not in _RESERVED and not text.endswith(" "):
        if text[0].isalpha() or yaml.safe_load(text) == text:  # "17 young people" is plain, "1" is not
            return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def _field(name: str, value, indent: str) -> list[str]:
    if isinstance(value, list):
        if value and all(isinstance(v, str) and v.startswith("http") for v in value):
            return [f"{indent}{name}:"] + [f"{indent}  - {v}" for v in value]
        return [f"{indent}{name}: [{', '.join(_scalar(v) for v in value)}]"]
    line = f"{indent}{name}: {_scalar(value)}"
    if len(line) > WIDTH and name in FOLDED_FIELDS and isinstance(value, str) and not isinstance(value, Raw):
        inner = indent + "  "
        wrapped = textwrap.wrap(value, WIDTH - len(inner), break_long_words=False, break_on_hyphens=False)
        return [f"{indent}{name}: >-"] + [inner + part for part in wrapped]
    return [line]


# the fields whose values shapes/ requires a statement-level source for (figure values, dates, counts: the rule
# ysvsh:Dataset-figuresDatesCountsBackedByStatements); a synthetic folder's document backs them all
STATED_FIELDS = ("value", "period_start", "period_end", "year", "financial_year", "issued", "deadline",
                 "areas_inspected", "areas_with_vru", "areas_without_vru", "recommendations_stated", "funded_from",
                 "in_use_from")


def records_yaml(kind: str, records: list[dict], comment: str | None = None, backed_by: str | None = None) -> str:
    """The records as YAML; backed_by: the source folder that states their figures, dates and counts
    (field_sources)."""
    lines = [f"# {comment}"] if comment else []
    lines.append(f"{kind}:")
    for record in records:
        first = True
        for name, value in record.items():
            if value is None:
                continue
            out = _field(name, value, "    ")
            if first:
                out[0] = "  - " + out[0][4:]
                first = False
            lines.extend(out)
        stated = [name for name in STATED_FIELDS if record.get(name) is not None] if backed_by else []
        if stated:
            lines.append("    field_sources:")
            lines.extend(f"      {name}: [{backed_by}]" for name in stated)
    return "\n".join(lines) + "\n"


def source_yaml(values: dict) -> str:
    lines = ["source:"]
    for name, value in values.items():
        if value is not None:
            lines.extend(_field(name, value, "  "))
    return "\n".join(lines) + "\n"


# --- the real reference data the synthetic records point at ---------------------------------------------------


class Reference:
    """Ids in data/ that synthetic records refer to. (A plain class, not a dataclass, so that the module can be
    loaded with importlib from its path without being registered in sys.modules.)"""

    def __init__(self) -> None:
        self.areas: dict[str, str] = {}              # ONS code -> name
        self.force_of_area: dict[str, str] = {}      # ONS code -> territorial force id
        self.vru_of_area: dict[str, str] = {}        # ONS code -> VRU id
        self.real_pcc_of_area: dict[str, str] = {}   # ONS code -> PCC organisation id
        self.organisations: list[str] = []           # other than PCCs
        self.groups: list[str] = []
        self.forces: list[str] = []
        self.vrus: list[str] = []
        self.instruments: list[str] = []
        self.definitions: list[str] = []

    # areas without a police and crime commissioner (the Mayor of London, the Greater Manchester mayor, the City
    # of London Corporation)
    NO_PCC = ("E23000001", "E23000005", "E23000034")

    def pcc_areas(self) -> list[str]:
        return [code for code in sorted(self.force_of_area) if code not in self.NO_PCC]


def load_reference(data_dir: Path = DATA) -> Reference:
    ref = Reference()
    for path in sorted(Path(data_dir).glob("*/*.yaml")):
        if path.name == "source.yaml":
            continue
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for record in content.get("areas", []):
            ref.areas[record["code"]] = record["name"]
        for record in content.get("forces", []):
            ref.forces.append(record["id"])
            if record.get("territorial") and record.get("area"):
                ref.force_of_area[record["area"]] = record["id"]
        for record in content.get("vrus", []):
            ref.vrus.append(record["id"])
            ref.vru_of_area[record["area"]] = record["id"]
        for record in content.get("organisations", []):
            if record.get("kind") == "police-and-crime-commissioner":
                if record.get("area"):
                    ref.real_pcc_of_area[record["area"]] = record["id"]
            else:
                ref.organisations.append(record["id"])
        for kind, target in (("groups", ref.groups), ("instruments", ref.instruments),
                             ("definitions", ref.definitions)):
            target.extend(record["id"] for record in content.get(kind, []))
    for values in (ref.organisations, ref.groups, ref.forces, ref.vrus, ref.instruments, ref.definitions):
        values.sort()
    return ref


def pcc_of_area(ref: Reference, code: str) -> tuple[str, str | None]:
    """(organisation id, person id or None) of the PCC a synthetic response from this area is written by."""
    if code in ref.real_pcc_of_area:
        return ref.real_pcc_of_area[code], None  # reuse the real PCC; never sign in the name of a real person
    force = ref.force_of_area[code]
    return f"synthetic-pcc-{force}", f"synthetic-pcc-{force}-commissioner"


def pcc_folder(ref: Reference) -> dict[str, str]:
    organisations, people = [], []
    for code in ref.pcc_areas():
        if code in ref.real_pcc_of_area:
            continue
        org, person = pcc_of_area(ref, code)
        name = ref.areas[code]
        force = ref.force_of_area[code]
        organisations.append({"id": org, "name": f"Police and Crime Commissioner for {name} (synthetic)",
                              "kind": "police-and-crime-commissioner",
                              "homepage": f"{SYNTHETIC_URL}/pcc/{force}/", "area": code})
        people.append({"id": person, "name": f"Commissioner for {name} (synthetic)",
                       "role": f"Police and Crime Commissioner for {name} (synthetic)", "member_of": org})
    return {
        "source.yaml": source_yaml({
            "title": "Synthetic police and crime commissioners for benchmark corpora",
            "url": f"{SYNTHETIC_URL}/pccs/",
            "publisher_name": "ysv-graph benchmark corpus generator",
            "kind": "dataset",
            "note": f"Synthetic test data written by {GENERATOR}: one commissioner for each police force area that "
                    "has one and has no PCC record in the real data. The names are placeholders, not real people.",
        }),
        "organisations.yaml": records_yaml("organisations", organisations),
        "people.yaml": records_yaml("people", people),
    }


# --- words for generated text ------------------------------------------------------------------------------------

TOPICS = [
    "knife crime", "county lines exploitation", "youth diversion", "sharing data with partners",
    "hospital-based violence intervention", "school exclusions", "mentoring programmes", "custody interventions",
    "neighbourhood policing", "early help referrals", "trauma-informed practice", "weapons sweeps",
    "problem-oriented policing", "community engagement", "youth offending teams", "violence hotspots",
    "repeat victims", "online harms", "missing children", "criminal exploitation", "stop and search records",
    "out-of-court disposals", "serious violence strategies", "local problem profiles", "youth workers in A&E",
    "sports and arts projects", "family support", "safeguarding referrals", "gang-related violence",
    "night-time economy violence",
]
SUBJECTS = [
    "Forces", "Violence reduction units", "Partner organisations", "Community safety partnerships",
    "Neighbourhood teams", "Police analysts", "Schools and the police", "Youth offending teams", "Chief officers",
    "Local authorities", "Health partners", "Some forces", "Most forces", "A few violence reduction units",
]
VERBS = [
    "are improving how they approach", "do not yet evaluate", "have made progress on", "need clearer guidance on",
    "are inconsistent in their approach to", "share too little information about", "could make better use of",
    "are starting to measure the effect of", "rarely record outcomes for", "have invested in",
    "lack a shared understanding of", "work well together on", "do not always prioritise",
    "have good plans for", "struggle to sustain funding for",
]
SECOND = [
    "In {few} of the synthetic areas this was done well.",
    "Inspectors in this synthetic report saw {few} examples of good practice.",
    "The synthetic evidence for this comes from interviews and documents.",
    "This varied from area to area in the synthetic sample.",
    "Leaders in {few} areas knew what worked and why.",
    "Funding that lasts one year at a time made this harder.",
    "Better records would help to show what difference this makes.",
]
VERDICTS = [
    "Progress on", "Weak evaluation of", "Good practice in", "Inconsistent approach to", "Too little data on",
    "Clearer guidance needed on", "Short-term funding hampers", "Partners disagree about", "Leaders committed to",
]
FEW = ["a few", "some", "most", "several", "two", "three", "half"]
ACTIONS = [
    "has set up a working group on", "will review its policy on", "is training staff in",
    "monitors progress on", "has commissioned an evaluation of", "will report to the panel on",
    "has funded a new post for", "is working with partners on", "has asked the force to improve its work on",
    "welcomes the findings on",
]
ADDRESSEE_NAMES = {
    "chief-constables": "chief constables", "violence-reduction-units": "violence reduction units",
    "community-safety-partnerships": "community safety partnerships", "chief-officers": "chief officers",
    "home-office": "the Home Office", "college-of-policing": "the College of Policing", "npcc": "the NPCC",
    "department-for-education": "the Department for Education",
}
ADDRESSEE_GROUPS = ["chief-constables", "violence-reduction-units", "community-safety-partnerships", "chief-officers"]
ADDRESSEE_ORGS = ["home-office", "college-of-policing", "npcc", "department-for-education"]
INTRODUCTION = ["About us", "Background and context", "Our commission", "Methodology", "Definitions"]


class Writer:
    """Generated text and choices for one report, from its own random stream."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def sentence(self, topic: str | None = None, subject: str | None = None) -> str:
        rng = self.rng
        return f"{subject or rng.choice(SUBJECTS)} {rng.choice(VERBS)} {topic or rng.choice(TOPICS)}."

    def statement(self, topic: str | None = None, sentences: int = 2) -> str:
        parts = [self.sentence(topic)]
        for _ in range(sentences - 1):
            parts.append(self.rng.choice(SECOND).format(few=self.rng.choice(FEW)))
        return " ".join(parts)

    def heading(self, topic: str) -> str:
        return self.sentence(topic)[:-1]

    def label(self, topic: str) -> str:
        return f"{self.rng.choice(VERDICTS)} {topic}"

    def note(self) -> str:
        return self.rng.choice([
            "Synthetic record; no source exists.",
            "Synthetic curator's note: the wording is generated.",
            "Synthetic record; the number in the report is not given.",
            "Synthetic record written for benchmarks; it states no real fact.",
        ])


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --- one synthetic report ----------------------------------------------------------------------------------------


def report_folders(number: int, seed: int, ref: Reference) -> dict[str, dict[str, str]]:
    """The folders (name -> file name -> YAML text) of synthetic report `number`."""
    rng = random.Random(f"ysv-graph corpus:{seed}:{number}")
    w = Writer(rng)
    tag = f"{number:04d}"
    p = f"syv-s{tag}"   # ids sort after the real syv-inspection-report, which stays the dataset's primary topic
    folder = f"synthetic-report-{tag}"
    base_url = f"{SYNTHETIC_URL}/report-{tag}"
    report_id, inspection_id = f"{p}-report", f"{p}-inspection"
    topic = rng.choice(TOPICS)
    issued = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(7 * 365))
    title = f"Synthetic inspection {tag}: how well the police tackle {topic}"

    # -- the inspection: which areas, split by whether the area has a VRU --------------------------------------
    areas_sorted = sorted(ref.force_of_area)
    k = rng.randint(6, 14)
    sample = sorted(rng.sample(areas_sorted, k))
    with_vru = sum(1 for code in sample if code in ref.vru_of_area)
    status = rng.choices(["complete", "unknown", "partial"], weights=[5, 4, 1])[0]
    named = sample if status == "complete" else [] if status == "unknown" else sample[:rng.randint(1, k - 1)]
    inspection = {
        "id": inspection_id, "title": f"Synthetic inspection {tag} of how well the police tackle {topic}",
        "carried_out_by": ["hmicfrs"], "areas_inspected": k, "areas_with_vru": with_vru,
        "areas_without_vru": k - with_vru, "inspected_areas": named, "inspected_areas_status": status,
        "description": f"Synthetic inspection covering {k} police force areas, {with_vru} of them with a violence "
                       f"reduction unit. {w.statement(topic, 2)}",
        "note": None if status == "complete" else "Synthetic record; not every inspected area is named.",
    }
    activities = [
        {"id": f"{p}-activity-document-review", "inspection": inspection_id, "title": "Review of documents",
         "description": f"In this synthetic inspection, inspectors read documents from forces and partners about "
                        f"{topic}.",
         "carried_out_by": ["hmicfrs"],
         "participants": "Police forces, violence reduction units and community safety partnerships"},
        {"id": f"{p}-activity-interviews", "inspection": inspection_id, "title": "Interviews with chief officers",
         "description": f"In this synthetic inspection, inspectors interviewed chief officers and heads of VRUs in "
                        f"{k} areas.",
         "carried_out_by": ["hmicfrs"], "participants": "Chief officers and heads of violence reduction units"},
        {"id": f"{p}-activity-young-people", "inspection": inspection_id,
         "title": "Interviews with young people",
         "description": "In this synthetic inspection, a charity interviewed young people about their experience "
                        "of violence.",
         "carried_out_by": [rng.choice(["user-voice", "youth-endowment-fund"])],
         "participants": f"{rng.randint(8, 40)} young people aged 14 to 24"},
    ]
    if rng.random() < 0.5:
        activities.append({"id": f"{p}-activity-survey", "inspection": inspection_id, "title": "Survey of officers",
                           "description": f"A synthetic online survey of officers about {topic}.",
                           "carried_out_by": ["hmicfrs"]})

    # -- sections and themes ----------------------------------------------------------------------------------------
    sections: list[dict] = []
    themes: list[dict] = []

    def section(key: str, title_: str, order: int, parent: str | None = None, number_: str | None = None,
                theme: str | None = None) -> str:
        sid = f"{p}-sec-{key}"
        sections.append({"id": sid, "report": report_id, "number": number_, "title": title_,
                         "parent": f"{p}-sec-{parent}" if parent else None, "order": order, "theme": theme})
        return sid

    chapter_topics = rng.sample([t for t in TOPICS if t != topic], 3)
    sub_topics = [rng.sample([t for t in TOPICS if t not in chapter_topics], rng.randint(2, 4)) for _ in range(3)]
    top_ids = [f"{p}-theme-{_slug(t)}" for t in chapter_topics]
    order = 1
    section("1", "Summary", order)
    for n, t in enumerate(chapter_topics, 1):
        section(f"1-{n}", w.heading(t), n, "1", theme=top_ids[n - 1])
    summary_extra = rng.sample([t for t in TOPICS if t not in chapter_topics], 2)
    extra_ids = []
    for n, t in enumerate(summary_extra, len(chapter_topics) + 1):
        tid = f"{p}-theme-summary-{_slug(t)}"
        extra_ids.append(tid)
        sid = section(f"1-{n}", w.heading(t), n, "1", theme=tid)
        themes.append({"id": tid, "label": f"{t[0].upper()}{t[1:]} (summary)", "definition": w.statement(t, 1),
                       "related": [rng.choice(top_ids)], "section": sid,
                       "note": "Synthetic record; which chapter treats this subject is not known."})
    order += 1
    section("2", "Introduction", order)
    for n, heading in enumerate(INTRODUCTION, 1):
        section(f"2-{n}", heading, n, "2")
    sub_theme_ids: list[list[str]] = []
    sub_section_ids: list[list[str]] = []
    for c, t in enumerate(chapter_topics):
        order += 1
        chapter = section(str(c + 3), f"How well do the police deal with {t}?", order, number_=str(c + 1),
                          theme=top_ids[c])
        themes.append({"id": top_ids[c], "label": f"{t[0].upper()}{t[1:]}", "definition": w.statement(t, 2),
                       "top": True, "section": chapter})
        sub_theme_ids.append([])
        sub_section_ids.append([])
        for n, st in enumerate(sub_topics[c], 1):
            tid = f"{p}-theme-{c + 1}-{_slug(st)}"
            sid = section(f"{c + 3}-{n}", w.heading(st), n, str(c + 3), theme=tid)
            themes.append({"id": tid, "label": f"{st[0].upper()}{st[1:]}", "definition": w.statement(st, 1),
                           "broader": top_ids[c], "section": sid})
            sub_theme_ids[c].append(tid)
            sub_section_ids[c].append(sid)
    if rng.random() < 0.6:
        order += 1
        section(str(order), "Recommendations", order)
    if rng.random() < 0.4:
        order += 1
        section(str(order), "Annex A: About the data", order)
    themes.sort(key=lambda t: (not t.get("top", False), t["id"]))

    # -- findings -------------------------------------------------------------------------------------------------
    inspected_forces = [ref.force_of_area[code] for code in sample]
    inspected_vrus = [ref.vru_of_area[code] for code in sample if code in ref.vru_of_area]

    def concerns() -> list[str] | None:
        pool = {"group": ref.groups, "organisation": ref.organisations, "force": inspected_forces or ref.forces,
                "vru": inspected_vrus or ref.vrus}
        picked: list[str] = []
        for _ in range(rng.choices([0, 1, 2, 3], weights=[3, 4, 2, 1])[0]):
            kind = rng.choices(["group", "organisation", "force", "vru"], weights=[4, 3, 2, 2])[0]
            value = rng.choice(pool[kind])
            if value not in picked:
                picked.append(value)
        return picked or None

    def instruments(chance: float) -> list[str] | None:
        return rng.sample(ref.instruments, rng.randint(1, 2)) if rng.random() < chance else None

    findings: list[dict] = []
    for n in range(1, 9):
        c = rng.randrange(3)
        t = rng.choice([chapter_topics[c]] + sub_topics[c])
        theme_list = [top_ids[c]] + ([rng.choice(sub_theme_ids[c])] if rng.random() < 0.3 else [])
        findings.append({"id": f"{p}-finding-h{n}", "label": w.label(t), "statement": w.statement(t, rng.randint(1, 2)),
                         "level": "headline", "report": report_id,
                         "section": f"{p}-sec-1-{c + 1}" if rng.random() < 0.4 else None, "themes": theme_list,
                         "concerns": concerns(), "instruments": instruments(0.2),
                         "note": w.note() if rng.random() < 0.15 else None})
    n = 0
    for c in range(3):
        for s, sid in enumerate(sub_section_ids[c]):
            for _ in range(rng.choice([1, 1, 2, 2, 2])):
                n += 1
                t = sub_topics[c][s]
                findings.append({"id": f"{p}-finding-c{n}", "label": w.label(t),
                                 "statement": w.statement(t, rng.randint(1, 3)), "level": "chapter",
                                 "report": report_id, "section": sid, "themes": [top_ids[c], sub_theme_ids[c][s]],
                                 "concerns": concerns(), "instruments": instruments(0.3),
                                 "note": w.note() if rng.random() < 0.1 else None})

    # -- recommendations -------------------------------------------------------------------------------------------
    recommendations: list[dict] = []
    count = rng.randint(4, 8)
    deadline_base = _add_months(issued, rng.randint(6, 18))
    for r in range(1, count + 1):
        described = rng.random() < 0.75
        to = ([rng.choice(ADDRESSEE_GROUPS)] if rng.random() < 0.6 else [rng.choice(ADDRESSEE_ORGS)]) \
            if described or rng.random() < 0.5 else None
        rec = {"id": f"{p}-rec-{r}", "report": report_id, "status": "described" if described else "undescribed"}
        if described:
            answered = rng.choice(findings)
            t = rng.choice(TOPICS)
            rec.update({"label": f"Improve work on {t}",
                        "statement": f"Synthetic recommendation. By the deadline, {ADDRESSEE_NAMES[to[0]]} should "
                                     f"review and improve their work on {t}.",
                        "addressed_to": to,
                        "deadline": _month_end(_add_months(deadline_base, rng.choice([0, 0, 3, 6])))
                        if rng.random() < 0.8 else None,
                        "answers": [answered["id"]], "instruments": answered.get("instruments")})
        else:
            rec.update({"label": f"Recommendation {r} (content not known)" if rng.random() < 0.7 else None,
                        "addressed_to": to,
                        "note": "Synthetic record; known only from the count of recommendations."})
        recommendations.append(rec)

    report = {
        "id": report_id, "title": title, "kind": "inspection-report", "publisher": "hmicfrs", "issued": issued,
        "urls": [f"{base_url}/", f"{base_url}/print/"],
        "licence": "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
        "inspection": inspection_id, "recommendations_stated": count,
        "description": f"Synthetic national thematic report drawn from {k} police force areas. It looks at "
                       f"{chapter_topics[0]}, {chapter_topics[1]} and {chapter_topics[2]}. "
                       + w.statement(topic, 2),
        "note": f"Synthetic test report number {tag} written by {GENERATOR} (seed {seed}).",
    }

    # -- figures ------------------------------------------------------------------------------------------------------
    year = issued.year - 1
    figures: list[dict] = [
        {"id": f"{p}-fig-areas-inspected", "label": "Police force areas covered by the synthetic inspection",
         "value": k, "unit": "police-force-area", "reported_in": report_id, "subjects": [inspection_id]},
        {"id": f"{p}-fig-areas-with-vru", "label": "Inspected areas that had a violence reduction unit",
         "value": with_vru, "unit": "police-force-area", "reported_in": report_id, "subjects": [inspection_id]},
        {"id": f"{p}-fig-documents", "label": "Documents reviewed by the synthetic inspection",
         "value": rng.randrange(100, 600, 50), "unit": "document", "qualifier": "more-than",
         "reported_in": report_id, "subjects": [f"{p}-activity-document-review"]},
        {"id": f"{p}-fig-young-people", "label": "Young people interviewed for the synthetic inspection",
         "value": rng.randint(8, 40), "unit": "person", "reported_in": report_id,
         "subjects": [f"{p}-activity-young-people"]},
    ]
    for f in range(1, rng.randint(6, 8)):
        unit = rng.choice(["offence", "offence", "gbp", "gbp", "person", "year", "unit"])
        t = rng.choice(chapter_topics)
        fig: dict = {"id": f"{p}-fig-{f}"}
        if unit == "offence":
            fig.update({"label": f"Offences linked to {t} in the synthetic areas", "value": rng.randint(200, 60000),
                        "unit": unit, "qualifier": rng.choice([None, "approximately"])})
        elif unit == "gbp":
            fig.update({"label": f"Funding for work on {t}", "value": rng.randrange(100000, 40000000, 50000),
                        "unit": unit, "qualifier": rng.choice([None, "approximately", "more-than"])})
        elif unit == "person":
            fig.update({"label": f"Young people reached by work on {t}", "value": rng.randint(50, 5000),
                        "unit": unit})
        elif unit == "year":
            fig.update({"label": f"Length of the funding grant for {t}", "unit": unit,
                        "value": Raw(f"{rng.randint(1, 2)}.5") if rng.random() < 0.3 else rng.randint(1, 3)})
        else:
            fig.update({"label": "Violence reduction units in the inspected areas", "value": with_vru, "unit": unit})
        period = rng.choice(["year", "financial_year", "interval", None])
        if period == "year":
            fig["year"] = year - rng.randrange(3)
        elif period == "financial_year":
            first = year - rng.randrange(3)
            fig["financial_year"] = Raw(f"{first}-{first + 1}")
        elif period == "interval":
            start = dt.date(year - rng.randrange(3), rng.choice([1, 4, 7, 10]), 1)
            fig["period_start"] = start
            fig["period_end"] = _add_months(start, rng.choice([6, 12, 18, 24])) - dt.timedelta(days=1)
        if rng.random() < 0.4:
            fig["area"] = rng.choice(sample)
        elif rng.random() < 0.7:
            fig["area_description"] = rng.choice(["The synthetic inspected areas", "Areas with a VRU",
                                                  "England and Wales (synthetic)"])
        fig["reported_in"] = report_id if rng.random() < 0.8 else None
        fig["subjects"] = [rng.choice(["violence-reduction-units", "home-office", inspection_id,
                                       rng.choice(findings)["id"]])]
        if rng.random() < 0.2:
            fig["note"] = w.note()
        figures.append(fig)

    # -- responses: one folder each ---------------------------------------------------------------------------------
    pcc_areas = [code for code in sample if code in set(ref.pcc_areas())] or ref.pcc_areas()
    responders = sorted(rng.sample(pcc_areas, min(len(pcc_areas), rng.randint(2, 4))))
    folders: dict[str, dict[str, str]] = {}
    for code in responders:
        force = ref.force_of_area[code]
        rfolder = f"{folder}-response-{force}"
        rid = f"{p}-response-{force}"
        org, person = pcc_of_area(ref, code)
        area_name = ref.areas[code]
        answered = rng.sample(recommendations, rng.randint(1, min(3, len(recommendations))))
        answered.sort(key=lambda r: recommendations.index(r))
        response_issued = issued + dt.timedelta(days=rng.randint(20, 90)) if rng.random() < 0.7 else None
        rtitle = f"Synthetic response of the PCC for {area_name} to \"{title}\""
        url = f"{base_url}/responses/{force}/"
        response = {"id": rid, "title": rtitle, "report": report_id, "author": org, "issued": response_issued,
                    "url": url, "addressed_to": rng.choice([["home-office"], ["home-office", "hmicfrs"], None]),
                    "recommendations": [r["id"] for r in answered],
                    "signed_by": [person] if person and rng.random() < 0.6 else None,
                    "note": None if response_issued else "Synthetic record; no date is known."}
        statements = []
        for s in range(1, rng.randint(2, 5) + 1):
            t = rng.choice(TOPICS)
            stmt: dict = {"id": f"{rid}-stmt-{s}", "response": rid,
                          "text": f"In this synthetic response the commissioner {rng.choice(ACTIONS)} {t}."
                                  + (" " + w.sentence(t) if rng.random() < 0.5 else "")}
            roll = rng.random()
            if roll < 0.6:
                rec = rng.choice(answered)
                stmt["recommendations"] = [rec["id"]]
                rec.setdefault("sources", [])
                if rfolder not in rec["sources"]:
                    rec["sources"].append(rfolder)
                if rec.get("instruments") and rng.random() < 0.5:
                    stmt["instruments"] = rec["instruments"][:1]
            elif roll < 0.85:
                finding = rng.choice(findings)
                stmt["findings"] = [finding["id"]]
                finding.setdefault("sources", [])
                if rfolder not in finding["sources"]:
                    finding["sources"].append(rfolder)
            elif roll < 0.93 and ref.definitions:
                stmt["definitions"] = [rng.choice(ref.definitions)]
            else:
                stmt["instruments"] = [rng.choice(ref.instruments)]
            statements.append(stmt)
        kind = rng.choice(["letter", "letter", "web-page"])
        folders[rfolder] = {
            "source.yaml": source_yaml({
                "title": rtitle, "url": url, "publisher_name": f"Police and Crime Commissioner for {area_name}",
                "publisher": org, "issued": response_issued, "kind": kind,
                "about": rid if rng.random() < 0.5 else None,
                "note": f"Synthetic {kind} written by {GENERATOR} (seed {seed}); it is no real commissioner's "
                        "response and states no real fact.",
            }),
            "responses.yaml": records_yaml("responses", [response], backed_by=rfolder),
            "response_statements.yaml": records_yaml("response_statements", statements),
        }

    for record in findings + recommendations:  # move `sources` (added by the responses) before `note`
        if "sources" in record:
            record["sources"] = record.pop("sources")
            if record.get("note"):
                record["note"] = record.pop("note")

    folders[folder] = {
        "source.yaml": source_yaml({
            "title": title, "url": f"{base_url}/", "alternate_urls": [f"{base_url}/print/"],
            "publisher_name": "His Majesty's Inspectorate of Constabulary and Fire & Rescue Services",
            "publisher": "hmicfrs", "issued": issued, "kind": "report", "about": report_id,
            "note": f"Synthetic report number {tag} written by {GENERATOR} (seed {seed}) for benchmarks; it describes "
                    "no real inspection and every fact in this folder is generated.",
        }),
        "reports.yaml": records_yaml("reports", [report], backed_by=folder),
        "inspections.yaml": records_yaml("inspections", [inspection], backed_by=folder),
        "activities.yaml": records_yaml("activities", activities),
        "sections.yaml": records_yaml("sections", sections, "Synthetic section titles, generated."),
        "themes.yaml": records_yaml("themes", themes),
        "findings.yaml": records_yaml("findings", findings),
        "recommendations.yaml": records_yaml("recommendations", recommendations, backed_by=folder),
        "figures.yaml": records_yaml("figures", figures, backed_by=folder),
    }
    return folders


# --- the whole corpus ---------------------------------------------------------------------------------------------


def _check_target(out: Path) -> None:
    out = out.resolve()
    for protected in (DATA.resolve(), (ROOT / "out").resolve()):
        if out == protected or protected in out.parents or out in protected.parents:
            raise SystemExit(f"corpus: refusing to write synthetic data into or above {protected}")
    if out.exists() and any(out.iterdir()):
        dataset = out / "dataset.yaml"
        if not (dataset.is_file() and MARKER in dataset.read_text(encoding="utf-8")):
            raise SystemExit(f"corpus: {out} is not empty and is not a synthetic corpus; choose another folder")


def dataset_yaml(reports: int, seed: int, data_dir: Path = DATA) -> str:
    text = (data_dir / "dataset.yaml").read_text(encoding="utf-8")
    new, n = re.subn(r"^(  title: )(.*)$", lambda m: f"{m.group(1)}{m.group(2)} {MARKER} of {reports} "
                                                       f"reports, seed {seed})", text, count=1, flags=re.MULTILINE)
    if n != 1:
        raise SystemExit("corpus: data/dataset.yaml has no '  title:' line")
    return new


def generate(reports: int, out: Path, seed: int = 0, data_dir: Path = DATA) -> None:
    """Write a corpus of `reports` synthetic reports (plus the real data) into `out`, replacing what is there."""
    out = Path(out)
    if reports < 0:
        raise ValueError("reports must be 0 or more")
    _check_target(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "dataset.yaml").write_text(dataset_yaml(reports, seed, data_dir), encoding="utf-8")
    for folder in sorted(p for p in Path(data_dir).iterdir() if p.is_dir() and not p.name.startswith(".")):
        shutil.copytree(folder, out / folder.name)
    ref = load_reference(data_dir)
    folders = {PCC_FOLDER: pcc_folder(ref)}
    for number in range(1, reports + 1):
        folders.update(report_folders(number, seed, ref))
    for name, files in folders.items():
        (out / name).mkdir()
        for file_name, text in files.items():
            (out / name / file_name).write_text(text, encoding="utf-8")


# --- the benchmark (--bench) --------------------------------------------------------------------------------

_STAGE_SCRIPT = r"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from ysv_graph.incremental import build
from ysv_graph.rdf.terms import Base
start = time.perf_counter()
cache = Path(sys.argv[5]) if sys.argv[5] != "-" else None
from ysv_graph.serve.site import render_site
result = build.run(Path(sys.argv[1]), Path(sys.argv[2]), Base(), jobs=int(sys.argv[4]), cache=cache,
                   pages=render_site if sys.argv[6] == "site" else None)
total = time.perf_counter() - start
print(json.dumps({"timings": result.timings, "counts": result.counts, "total": total}), flush=True)
import os
os._exit(0)  # as the ysv-graph command does after a build: no object-by-object teardown
"""


def _tree_memory_kb(root: int) -> tuple[int, int]:
    """(PSS summed over the process and its descendants, largest single RSS), in kB, from /proc. PSS shares each
    copy-on-write page among the processes that map it, so the sum is the real memory the build holds."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    todo.extend(int(c) for c in handle.read().split())
        except OSError:
            pass
    pss = rss = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss = max(rss, int(line.split()[1]))
        except OSError:
            pass
    return pss, rss


def _run_build(corpus: Path, out: Path, jobs: int, cache: Path | None, site: bool = False) -> dict:
    """One build in a fresh process: stage times, counts, wall time, and peak memory of the whole process tree
    (sampled every 0.5 s: reading /proc/PID/smaps_rollup of a big process costs milliseconds)."""
    import json
    import subprocess
    import threading

    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", _STAGE_SCRIPT, str(corpus), str(out),
                                str(Path(__file__).resolve().parents[1] / "src"), str(jobs),
                                str(cache) if cache else "-", "site" if site else "no-site"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = {"pss": 0, "rss": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            pss, rss = _tree_memory_kb(process.pid)
            peak["pss"], peak["rss"] = max(peak["pss"], pss), max(peak["rss"], rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output: dict = {}
    readers = [threading.Thread(target=lambda name=name, pipe=pipe: output.__setitem__(name, pipe.read()))
               for name, pipe in (("out", process.stdout), ("err", process.stderr))]
    for reader in readers:
        reader.start()
    _pid, status, usage = os.wait4(process.pid, 0)  # CPU time of the build and of every process it waited for
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    for reader in readers:
        reader.join()
    done.set()
    sampler.join()
    stdout, stderr = output["out"], output["err"]
    if process.returncode != 0:
        raise SystemExit(f"build of {corpus} failed:\n{stderr.decode()[-2000:]}")
    report = json.loads(stdout.decode().strip().splitlines()[-1])
    report["wall"] = wall
    report["cpu"] = usage.ru_utime + usage.ru_stime
    report["peak_mb"] = peak["pss"] / 1024
    report["peak_single_process_rss_mb"] = peak["rss"] / 1024
    return report


def _timed(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - start, value


def _baselines(out: Path, budget: float, previous: dict | None) -> dict:
    """The raw libraries on the same output: pyoxigraph and rdflib parsing and serialising the N-Quads, owlrl's
    full closure and plain pyshacl on the whole graph (each skipped, and extrapolated from the previous size,
    when its projected time exceeds the budget)."""
    import pyoxigraph as ox
    import rdflib

    from ysv_graph.incremental import build as ysv_build
    from ysv_graph.pipeline import reasoning
    from ysv_graph.pipeline import validation
    from ysv_graph.rdf.terms import Base

    nq = out / "ysv.nq"
    result: dict = {}
    seconds, quads = _timed(lambda: list(ox.parse(path=str(nq), format=ox.RdfFormat.N_QUADS)))
    result["pyoxigraph_parse_s"] = round(seconds, 3)
    result["pyoxigraph_serialize_s"] = round(_timed(ox.serialize, quads, None, ox.RdfFormat.N_QUADS)[0], 3)
    del quads
    dataset = rdflib.Dataset()
    result["rdflib_parse_s"] = round(_timed(dataset.parse, str(nq), None, "nquads")[0], 3)
    result["rdflib_serialize_s"] = round(_timed(dataset.serialize, None, "nquads")[0], 3)
    del dataset
    asserted = rdflib.Graph().parse(str(out / "ysv.nt"), format="nt")
    triples = len(asserted)
    for name, run in (
        ("owlrl_full_closure_s", lambda: reasoning.owlrl_data_entailments(ysv_build.load_ontology(Base()), asserted)),
        ("pyshacl_whole_graph_s", lambda: validation.validate(asserted, validation.load_shapes(Base()))),
    ):
        if previous and name in previous and previous.get("triples"):
            projected = previous[name] * (triples / previous["triples"]) ** 1.2
            if projected > budget:
                result[name] = round(projected, 1)
                result[name.replace("_s", "_extrapolated")] = True
                continue
        result[name] = round(_timed(run)[0], 3)
    return result


def _edit_one_report(corpus: Path) -> Path:
    """Change the text of one finding of one synthetic report (a real change: its triples differ)."""
    path = sorted(corpus.glob("synthetic-report-*/findings.yaml"))[0]
    text = path.read_text(encoding="utf-8")
    position = text.index("statement:") + len("statement:")
    path.write_text(text[:position] + " Edited for the rebuild benchmark." + text[position:], encoding="utf-8")
    return path


def _machine_loop() -> float:
    """How fast this machine runs plain Python today: the best of three runs of a 20-million-step loop. The host
    varies from day to day (the same build took 74.8 s on 2026-11-28 and 159.5 s on 2026-12-01), so figures from
    different days compare only alongside this."""
    import time

    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(20_000_000):
            total += i
        best = min(best, time.perf_counter() - start)
    return round(best, 2)


def bench(sizes: list[int], jobs: int, budget: float, seed: int = 0, site: bool = False) -> None:
    """Print one JSON object a size: stage times of a build from scratch (no cache), the same build again with
    the cache of the first, a rebuild after editing one report, peak memory, and the baselines measured on the
    same output."""
    import json
    import shutil
    import tempfile

    from ysv_graph.incremental import build as ysv_build
    from ysv_graph.pipeline import load as loading
    from ysv_graph.pipeline import mapping
    from ysv_graph.pipeline import reasoning
    from ysv_graph.rdf.terms import Base

    previous = None
    machine_loop_s = _machine_loop()
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix=f"ysv-bench-{n}-") as tmp:
            corpus, out, cache = Path(tmp) / "corpus", Path(tmp) / "out", Path(tmp) / "cache"
            generate(n, corpus, seed)
            full = _run_build(corpus, out, jobs, cache, site)
            warm = _run_build(corpus, out, jobs, cache, site)
            _edit_one_report(corpus)
            rebuild = _run_build(corpus, out, jobs, cache, site)
            # data entailments against owlrl on the same data, in this process
            base = Base()
            data = mapping.map_records(loading.load(corpus), base).union()
            ontology = ysv_build.load_ontology(base)
            reasoning.reason(ontology, data)  # closes and caches the ontology
            ours_s = _timed(reasoning.reason, ontology, data)[0]
            del data
            t = full["timings"]
            row = {
                "reports": n, "triples": full["counts"]["asserted triples"],
                "entailed": full["counts"]["entailed triples"], "jobs": jobs, "site": site,
                "load_s": round(t["load"], 3), "map_s": round(t["map"], 3), "reason_s": round(t["reason"], 3),
                # the map stage makes each document (maps, reasons over, summarises and keeps it), in a pool of
                # processes from 200 documents up: the seconds of each step, summed over the processes
                **{f"documents_{step}_s": round(t.get(f"  of which {name} documents", 0.0), 3)
                   for step, name in (("map", "mapping"), ("reason", "reasoning"), ("summarise", "summarising"),
                                      ("keep", "keeping"))},
                "describe_s": round(t["describe"], 3),
                "validate_s": round(t["  of which whole-graph checks (in a helper)"]
                                    + t["  of which pyshacl on flagged batches"], 3),
                "validate_wait_s": round(t["  of which waiting for them"], 3),
                "render_s": round(t["  of which render"], 3), "write_s": round(t["write"], 3),
                "validate_and_render_wall_s": round(t["validate & render"], 3),
                "total_s": round(full["wall"], 3), "cpu_s": round(full["cpu"], 1),
                "peak_rss_mb": round(full["peak_mb"]),
                "peak_single_process_rss_mb": round(full["peak_single_process_rss_mb"]),
                "per_triple_us": round(full["wall"] / full["counts"]["asserted triples"] * 1e6, 1),
                "warm_cache_total_s": round(warm["wall"], 3),
                "rebuild_after_one_edit_s": round(rebuild["wall"], 3),
                "rebuild_screened": rebuild["counts"]["screened (not cached)"],
                "rebuild_nodes_rechecked": rebuild["counts"]["nodes rechecked (-1: the whole graph)"],
                "batches_for_pyshacl": full["counts"]["batches for pyshacl"],
                "machine_loop_s": machine_loop_s,
                "rebuild_stages_s": {k.strip(): round(v, 2) for k, v in rebuild["timings"].items()},
                "data_entailments_s": round(ours_s, 4),
            }
            row.update(_baselines(out, budget, previous))
            if "owlrl_full_closure_s" in row and ours_s > 0:
                row["entailments_speedup_vs_owlrl"] = round(row["owlrl_full_closure_s"] / ours_s, 1)
            print(json.dumps(row), flush=True)
            previous = row
            shutil.rmtree(corpus, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, help="number of synthetic reports (0: shared data only)")
    parser.add_argument("--out", type=Path, help="folder to write the corpus to (replaced)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bench", action="store_true",
                        help="benchmark the build on corpora of --sizes reports; one JSON object a size")
    parser.add_argument("--sizes", default="1,10,100,1000", help="with --bench: corpus sizes (default 1,10,100,1000)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="with --bench: build --jobs")
    parser.add_argument("--budget", type=float, default=600.0,
                        help="with --bench: seconds a baseline may take before it is extrapolated instead")
    parser.add_argument("--site", action="store_true",
                        help="with --bench: build the static HTML site too (one file a resource; off by default)")
    args = parser.parse_args(argv)
    if args.bench:
        bench([int(n) for n in args.sizes.split(",")], args.jobs, args.budget, args.seed, args.site)
        return 0
    if args.reports is None or args.out is None:
        parser.error("--reports and --out are required (or use --bench)")
    start = time.perf_counter()
    generate(args.reports, args.out, args.seed)
    files = sum(1 for _ in args.out.rglob("*.yaml"))
    print(f"corpus: {args.reports} synthetic reports (seed {args.seed}) -> {args.out}/: {files} YAML files "
          f"in {time.perf_counter() - start:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
