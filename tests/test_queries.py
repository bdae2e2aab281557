"""The shipped competency questions (queries/*.rq) give the answers the sources give.

Every expected answer below was written out by hand from the source documents cited in each query file (by data
folder and public web address), via the curators' notes on them
(seed-report-summary.txt, report-facts.md, linking.md, police-force-areas.csv), not copied from what the
queries return. Where the expected answer is a count or a set, the exact count or set is asserted; where the
data holds text the curators wrote in their own words, only the key facts (dates, codes, counts, names) are.
"""
from __future__ import annotations

import pytest

from ysv_graph.serve import querying
from ysv_graph.cli import main

QUERY_NAMES = [path.stem for path in querying.shipped_queries()]

ONS = "http://statistics.data.gov.uk/id/statistical-geography/"
LEG = "http://www.legislation.gov.uk/id/"
GOVUK = "https://www.gov.uk/government/organisations/"
REPORT_TITLE = "An inspection of how well the police tackle serious youth violence"
REPORT_URLS = {
    "https://www.justiceinspectorates.gov.uk/hmicfrs/publication-html/"
    "inspection-of-how-well-the-police-tackle-serious-youth-violence/",
    "https://hmicfrs.justiceinspectorates.gov.uk/publication-html/"
    "inspection-of-how-well-the-police-tackle-serious-youth-violence/",
}
HMICFRS = "His Majesty's Inspectorate of Constabulary and Fire & Rescue Services"
WEST_MERCIA_URL = ("https://www.westmercia-pcc.gov.uk/response-to-an-inspection-of-how-well-the-police-tackle-"
                   "serious-youth-violence/")
SURREY_URL = "https://www.surrey-pcc.gov.uk/statutory-response/how-well-the-police-tackle-serious-youth-violence/"
LLR_URL = "https://rupertmatthews.org.uk/news/pcc-praises-partnership-response-tackling-serious-youth-violence"
OUTCOME_22_WORDING = ("Outcome 22 – Diversionary, educational or intervention activity, resulting from the crime "
                      "report, has been undertaken and it is not in the public interest to take any further action.")

# linking.md section 2.1 (written answer of 27 June 2023) and 2.2: the 20 VRU police force areas, with the ONS
# name and code of each area and the force serving it (linking.md section 1.2 / police-force-areas.csv).
VRU_AREAS_2019 = {
    # code: (ONS area name, force (data.police.uk name), data.police.uk id)
    "E23000001": ("Metropolitan Police", "Metropolitan Police Service", "metropolitan"),
    "E23000014": ("West Midlands", "West Midlands Police", "west-midlands"),
    "E23000005": ("Greater Manchester", "Greater Manchester Police", "greater-manchester"),
    "E23000004": ("Merseyside", "Merseyside Police", "merseyside"),
    "E23000010": ("West Yorkshire", "West Yorkshire Police", "west-yorkshire"),
    "E23000011": ("South Yorkshire", "South Yorkshire Police", "south-yorkshire"),
    "E23000007": ("Northumbria", "Northumbria Police", "northumbria"),
    "E23000029": ("Thames Valley", "Thames Valley Police", "thames-valley"),
    "E23000003": ("Lancashire", "Lancashire Constabulary", "lancashire"),
    "E23000028": ("Essex", "Essex Police", "essex"),
    "E23000036": ("Avon and Somerset", "Avon and Somerset Constabulary", "avon-and-somerset"),
    "E23000032": ("Kent", "Kent Police", "kent"),
    "E23000019": ("Nottinghamshire", "Nottinghamshire Police", "nottinghamshire"),
    "E23000021": ("Leicestershire", "Leicestershire Police", "leicestershire"),
    "E23000026": ("Bedfordshire", "Bedfordshire Police", "bedfordshire"),
    "E23000033": ("Sussex", "Sussex Police", "sussex"),
    "E23000030": ("Hampshire", "Hampshire Constabulary", "hampshire"),
    "W15000003": ("South Wales", "South Wales Police", "south-wales"),
}
VRU_AREAS_2022 = {
    "E23000013": ("Cleveland", "Cleveland Police", "cleveland"),
    "E23000012": ("Humberside", "Humberside Police", "humberside"),
}
VRU_AREAS = {**VRU_AREAS_2019, **VRU_AREAS_2022}

# linking.md section 2.2: VRU names given by a source (rows with Medium or High confidence).
VRU_NAMES = {
    "E23000001": "London Violence Reduction Unit",
    "E23000014": "West Midlands Violence Reduction Partnership",
    "E23000005": "Greater Manchester Violence Reduction Unit",
    "E23000004": "Merseyside Violence Reduction Partnership",
    "E23000007": "Northumbria Violence Reduction Unit",
    "E23000028": "Essex Violence and Vulnerability Unit",
    "E23000032": "Kent and Medway Violence Reduction Unit",
    "E23000026": "Bedfordshire Violence and Exploitation Reduction Unit",
    "W15000003": "Wales Violence Prevention Unit",
    "E23000013": "Cleveland Unit for the Reduction of Violence",
    "E23000012": "Humber Violence Prevention Partnership",
}
# linking.md section 2.2 rows 6 and 16: "no source found", confidence Low - these must not be published as names.
UNSOURCED_VRU_NAMES = {
    "E23000011": "South Yorkshire Violence Reduction Unit",
    "E23000033": "Sussex Violence Reduction Partnership",
}

# linking.md section 1.2: the 43 territorial forces minus the 20 VRU areas above = 23 forces.
FORCES_WITHOUT_VRU = {
    "E23000002": ("Cumbria Constabulary", "cumbria", "England"),
    "E23000006": ("Cheshire Constabulary", "cheshire", "England"),
    "E23000008": ("Durham Constabulary", "durham", "England"),
    "E23000009": ("North Yorkshire Police", "north-yorkshire", "England"),
    "E23000015": ("Staffordshire Police", "staffordshire", "England"),
    "E23000016": ("West Mercia Police", "west-mercia", "England"),
    "E23000017": ("Warwickshire Police", "warwickshire", "England"),
    "E23000018": ("Derbyshire Constabulary", "derbyshire", "England"),
    "E23000020": ("Lincolnshire Police", "lincolnshire", "England"),
    "E23000022": ("Northamptonshire Police", "northamptonshire", "England"),
    "E23000023": ("Cambridgeshire Constabulary", "cambridgeshire", "England"),
    "E23000024": ("Norfolk Constabulary", "norfolk", "England"),
    "E23000025": ("Suffolk Constabulary", "suffolk", "England"),
    "E23000027": ("Hertfordshire Constabulary", "hertfordshire", "England"),
    "E23000031": ("Surrey Police", "surrey", "England"),
    "E23000034": ("City of London Police", "city-of-london", "England"),
    "E23000035": ("Devon & Cornwall Police", "devon-and-cornwall", "England"),
    "E23000037": ("Gloucestershire Constabulary", "gloucestershire", "England"),
    "E23000038": ("Wiltshire Police", "wiltshire", "England"),
    "E23000039": ("Dorset Police", "dorset", "England"),
    "W15000001": ("North Wales Police", "north-wales", "Wales"),
    "W15000002": ("Gwent Police", "gwent", "Wales"),
    "W15000004": ("Dyfed-Powys Police", "dyfed-powys", "Wales"),
}

# report-facts.md section 3: chapter 2 sub-headings (verbatim) that carry a finding.
CHAPTER_2_HEADINGS = {
    "finding-intelligence-led-data-varies": "Police adopt an intelligence-led approach to preventing serious youth "
                                            "violence, but the quality of the data and analysis varies",
    "finding-stop-and-search-training": "Forces are training officers to use stop and search powers",
    "finding-gang-injunctions-capacity": "Gang injunctions may help reduce serious youth violence, but the capacity "
                                         "needed for applying means some forces don't use them",
    "finding-svro-pilot": "Serious violence reduction orders will be piloted, giving police new powers to look for "
                          "offensive weapons",
    "finding-met-kcpo-pilot": "The Metropolitan Police Service is piloting knife crime prevention orders",
}
# seed-report-summary.txt "Overall the inspection found:" - the eight bullets, by the id each is curated under.
HEADLINE_VRUS = {"finding-vru-early-evidence", "finding-inconsistent-resource-allocation",
                 "finding-interventions-not-evaluated"}
HEADLINE_POWERS = {"finding-building-community-trust", "finding-outcome-22-flawed-understanding",
                   "finding-protected-characteristics-data"}
HEADLINE_SCHOOLS = {"finding-schools-communication", "finding-schools-liaison-evaluation"}

# report-facts.md section 3 "Section structure": the contents list in order (titles verbatim).
CONTENTS = [
    # (number as printed, title, parent title)
    (None, "Summary", None),
    (None, "How the police work with violence reduction units and partner organisations to reduce serious youth "
           "violence", "Summary"),
    (None, "How well do police use their powers of enforcement to reduce serious youth violence, and do they "
           "understand racial disproportionality?", "Summary"),
    (None, "How well do the police work with partner organisations and take a public health approach to serious "
           "youth violence?", "Summary"),
    (None, "Police can support children at risk of exclusion, but better communication is needed between police "
           "and schools", "Summary"),
    (None, "More evaluation is needed on the effectiveness of schools liaison officers", "Summary"),
    (None, "Introduction", None),
    (None, "About us", "Introduction"),
    (None, "Background and context", "Introduction"),
    (None, "Our commission", "Introduction"),
    (None, "Methodology", "Introduction"),
    (None, "Definitions", "Introduction"),
    ("1", "How the police work with violence reduction units and partner organisations to reduce serious youth "
          "violence", None),
    (None, "The organisation and structure of violence reduction units", "How the police work with violence "
           "reduction units and partner organisations to reduce serious youth violence"),
    (None, "Violence reduction units' approaches and processes", "How the police work with violence reduction "
           "units and partner organisations to reduce serious youth violence"),
    ("2", "How well do police use their powers to reduce serious youth violence, and do they understand racial "
          "disproportionality?", None),
    *[(None, title, "How well do police use their powers to reduce serious youth violence, and do they understand "
                    "racial disproportionality?") for title in (
        "Police adopt an intelligence-led approach to preventing serious youth violence, but the quality of the data "
        "and analysis varies",
        "Forces are training officers to use stop and search powers",
        "Gang injunctions may help reduce serious youth violence, but the capacity needed for applying means some "
        "forces don't use them",
        "Serious violence reduction orders will be piloted, giving police new powers to look for offensive weapons",
        "The Metropolitan Police Service is piloting knife crime prevention orders",
        "Engagement and use of police powers to prevent serious youth violence",
        "The responsibility to conclude investigations of serious youth violence",
        "Racial disproportionality in serious youth violence",
    )],
    # Chapter 3's heading is cut off in the source after "partner orga"; checked by prefix below.
    ("3", "How well do the police work with partner orga", None),
]


def records(result) -> list[dict]:
    return [{var: (term.value if term is not None else None) for var, term in zip(result.variables, row)}
            for row in result.rows]


# --- the expected answers ----------------------------------------------------------------------------------------

def check_vru_areas_funded_2022(result, rows):
    assert {(r["onsCode"], r["areaName"], r["vruName"], r["fundedFrom"]) for r in rows} == {
        ("E23000013", "Cleveland", "Cleveland Unit for the Reduction of Violence", "2022"),
        ("E23000012", "Humberside", "Humber Violence Prevention Partnership", "2022"),
    }
    assert len(rows) == 2


def check_chief_constable_recommendations(result, rows):
    # report-facts.md section 2: 2 of the 4 recommendations are for chief constables; one is the outcome 22
    # training recommendation, due by 31 March 2024; the other's content (and deadline) is not known.
    assert len(rows) == 2
    assert {r["addressee"] for r in rows} == {"Chief constables"}
    dated = [r for r in rows if r["deadline"] is not None]
    assert len(dated) == 1
    assert dated[0]["deadline"] == "2024-03-31"
    assert dated[0]["status"] == "described"
    assert "outcome 22" in dated[0]["statement"]
    undated = [r for r in rows if r["deadline"] is None][0]
    assert undated["status"] == "known to exist, content unknown"
    assert undated["statement"] is None
    assert rows[0]["deadline"] == "2024-03-31"  # the dated one first


def check_west_mercia_outcome_22(result, rows):
    # report-facts.md section 6: letter of 26 April 2023 to the Home Secretary Suella Braverman; on outcome 22 it
    # says (1) a force policy is being developed and will be embedded in crime reporting training, (2) the force
    # will assess outcome 22's effect on reoffending by looked-after children, (3) the PCC monitors it via a
    # monthly outcome dashboard. The recommendation it answers is due by 31 March 2024.
    assert len(rows) == 3
    for r in rows:
        assert r["author"] == "Police and Crime Commissioner for West Mercia"
        assert r["issued"] == "2023-04-26"
        assert r["recipient"] == "Suella Braverman"
        assert r["deadline"] == "2024-03-31"
        assert "outcome 22" in r["statement"]
    texts = [r["statement"].lower() for r in rows]
    assert sum("policy" in t and "training" in t for t in texts) == 1
    assert sum("looked-after children" in t and "reoffending" in t for t in texts) == 1
    assert sum("dashboard" in t and "monthly" in t for t in texts) == 1


def check_inspected_areas_without_vru(result, rows):
    # seed-report-summary.txt: 12 police force areas - 10 with a VRU and 2 without.
    assert len(rows) == 1
    assert (int(rows[0]["areasInspected"]), int(rows[0]["withVRU"]), int(rows[0]["withoutVRU"])) == (12, 10, 2)


def check_police_powers_findings(result, rows):
    by_id = {r["finding"]: r for r in rows}
    assert len(rows) == len(by_id) == 8
    assert set(by_id) == set(CHAPTER_2_HEADINGS) | HEADLINE_POWERS
    for finding, heading in CHAPTER_2_HEADINGS.items():
        assert by_id[finding]["level"] == "chapter"
        assert by_id[finding]["section"] == heading
    for finding in HEADLINE_POWERS:
        assert by_id[finding]["level"] == "headline"
    # seed summary: protected characteristics data -> "the extent of racial disproportionality".
    assert by_id["finding-protected-characteristics-data"]["narrowerTheme"] == "Racial disproportionality"


def check_vru_area_ons_codes(result, rows):
    assert len(rows) == 20
    assert {r["onsCode"]: r["areaName"] for r in rows} == {code: v[0] for code, v in VRU_AREAS.items()}
    for r in rows:
        assert r["onsUri"] == ONS + r["onsCode"]
    names = {r["onsCode"]: r["vruName"] for r in rows}
    for code, name in VRU_NAMES.items():
        assert names[code] == name
    for code, guess in UNSOURCED_VRU_NAMES.items():
        assert names[code] != guess


def check_recommendation_counts(result, rows):
    # report-facts.md section 2: 4 recommendations stated; only 2 have known content.
    assert len(rows) == 1
    r = rows[0]
    assert r["report"] == REPORT_TITLE
    assert (int(r["stated"]), int(r["recorded"]), int(r["described"]), int(r["undescribed"])) == (4, 4, 2, 2)


def check_headline_findings(result, rows):
    by_id = {r["finding"]: r for r in rows}
    assert len(rows) == len(by_id) == 8
    assert set(by_id) == HEADLINE_VRUS | HEADLINE_POWERS | HEADLINE_SCHOOLS
    for finding in HEADLINE_VRUS:
        assert by_id[finding]["topTheme"] == "Violence reduction units and partners"
    for finding in ("finding-outcome-22-flawed-understanding", "finding-protected-characteristics-data"):
        assert by_id[finding]["topTheme"] == "Police powers and racial disproportionality"
    # report-facts.md section 3: the chapter holding the two schools findings is not known.
    for finding in HEADLINE_SCHOOLS:
        assert by_id[finding]["topTheme"] is None
    assert "outcome 22" in by_id["finding-outcome-22-flawed-understanding"]["statement"]
    assert "protected characteristics" in by_id["finding-protected-characteristics-data"]["statement"]


def check_report_figures(result, rows):
    # report-facts.md section 4, numbers stated in the report itself.
    assert {(int(r["value"]), r["unit"], r["qualifier"], r["periodStart"], r["periodEnd"]) for r in rows} == {
        (41377, "offences", "exactly", "2019-04-01", "2020-09-30"),
        (7636, "offences", "exactly", "2019-04-01", "2020-09-30"),
        (18, "police force areas", "exactly", "2019-01-01", "2019-12-31"),
        (3, "years", "exactly", "2022-01-01", "2022-12-31"),
    }
    assert len(rows) == 4
    assert [int(r["value"]) for r in rows] == [41377, 7636, 18, 3]


def check_recommendation_responses(result, rows):
    assert len(rows) == 4
    answered = [r for r in rows if r["response"] is not None]
    assert len(answered) == 1
    wm = answered[0]
    assert wm["addressee"] == "Chief constables"
    assert wm["responseAuthor"] == "Police and Crime Commissioner for West Mercia"
    assert wm["responseIssued"] == "2023-04-26"
    assert int(wm["statementsAnswering"]) == 3
    assert "outcome 22" in wm["recommendation"]
    unanswered = {r["addressee"] for r in rows if r["response"] is None}
    assert unanswered == {"Home Office", "Chief constables", None}
    assert sorted(r["status"] for r in rows) == sorted(
        ["described", "described", "known to exist, content unknown", "known to exist, content unknown"])


def check_working_definition(result, rows):
    # report-facts.md section 4: people aged 14 to 24; three elements.
    assert len(rows) == 3
    assert {(int(r["minimumAge"]), int(r["maximumAge"])) for r in rows} == {(14, 24)}
    elements = [r["element"].lower() for r in rows]
    assert sum("weapon" in e and "knife" in e for e in elements) == 1
    assert sum("serious injury or death" in e for e in elements) == 2


def check_instruments_legislation(result, rows):
    # linking.md section 4.
    assert {(r["kind"], r["legislationUri"], r["act"]) for r in rows} == {
        ("power", LEG + "ukpga/1984/60/section/1", "Police and Criminal Evidence Act 1984"),
        ("power", LEG + "ukpga/1994/33/section/60", "Criminal Justice and Public Order Act 1994"),
        ("injunction", LEG + "ukpga/2009/26/part/4", "Policing and Crime Act 2009"),
        ("court order", LEG + "ukpga/2019/17/part/2", "Offensive Weapons Act 2019"),
        ("court order", LEG + "ukpga/2022/32/section/165", "Police, Crime, Sentencing and Courts Act 2022"),
        ("court order", LEG + "ukpga/2020/17/part/11/chapter/1A", "Sentencing Act 2020"),
        ("statutory duty", LEG + "ukpga/2022/32/part/2/chapter/1", "Police, Crime, Sentencing and Courts Act 2022"),
    }
    assert len(rows) == 7
    by_uri = {r["legislationUri"]: r["instrument"].lower() for r in rows}
    assert "stop and search" in by_uri[LEG + "ukpga/1984/60/section/1"]
    assert "section 60" in by_uri[LEG + "ukpga/1994/33/section/60"]
    assert "gang injunctions" in by_uri[LEG + "ukpga/2009/26/part/4"]
    assert "knife crime prevention orders" in by_uri[LEG + "ukpga/2019/17/part/2"]
    assert "serious violence reduction orders" in by_uri[LEG + "ukpga/2022/32/section/165"]
    assert "serious violence duty" in by_uri[LEG + "ukpga/2022/32/part/2/chapter/1"]
    # linking.md section 5: no official identifier exists for outcome 22.
    assert not any("outcome 22" in r["instrument"].lower() for r in rows)


def check_outcome_22(result, rows):
    assert len(rows) == 1
    r = rows[0]
    assert r["notation"] == "22"
    assert r["officialWording"] == OUTCOME_22_WORDING
    assert r["inUseFrom"] == "2019-04-01"
    assert r["kind"] == "crime outcome code"


def check_vrus_with_forces(result, rows):
    assert len(rows) == 20
    got = {r["onsCode"]: (r["areaName"], r["force"], r["policeUkId"], r["fundedFrom"]) for r in rows}
    expected = {code: (*v, "2019") for code, v in VRU_AREAS_2019.items()}
    expected.update({code: (*v, "2022") for code, v in VRU_AREAS_2022.items()})
    assert got == expected
    assert [r["fundedFrom"] for r in rows] == ["2019"] * 18 + ["2022"] * 2


def check_forces_without_vru(result, rows):
    assert len(rows) == 23
    assert {r["onsCode"]: (r["force"], r["policeUkId"], r["country"]) for r in rows} == FORCES_WITHOUT_VRU
    assert not set(FORCES_WITHOUT_VRU) & set(VRU_AREAS)
    assert len(FORCES_WITHOUT_VRU) + len(VRU_AREAS) == 43


def check_companion_report(result, rows):
    # report-facts.md section 3, "Companion publication (same day)".
    assert len(rows) == 1
    r = rows[0]
    assert r["report"] == REPORT_TITLE
    assert r["companion"] == "Young people's experiences of serious youth violence: Care not criminalisation"
    assert r["issued"] == "2023-03-08"
    assert r["publisher"] == HMICFRS
    assert r["url"] == ("https://hmicfrs.justiceinspectorates.gov.uk/publication-html/"
                        "young-peoples-experiences-of-serious-youth-violence/")
    assert r["companionKind"] == "Research report"


def check_report_sections(result, rows):
    assert len(rows) == len(CONTENTS)
    for row, (number, title, parent) in zip(rows, CONTENTS):
        assert row["number"] == number
        assert row["parentTitle"] == parent
        assert row["level"] == ("section" if parent else "chapter")
        if number == "3":
            assert row["title"].startswith(title)
        else:
            assert row["title"] == title


def check_sources_cited(result, rows):
    by_url = {r["url"]: r for r in rows}
    assert len(by_url) == len(rows)  # each source document once
    assert all(int(r["citedBy"]) >= 1 for r in rows)
    report_rows = [r for r in rows if r["url"] in REPORT_URLS]
    assert len(report_rows) == 1
    assert report_rows[0]["source"] == REPORT_TITLE
    assert report_rows[0]["publisher"] == HMICFRS
    assert report_rows[0]["issued"] == "2023-03-08"
    assert report_rows[0]["kind"] == "report"
    # report-facts.md sections 1, 6 and 7; linking.md sections 1-2.
    expected = {
        WEST_MERCIA_URL: "2023-04-26",
        SURREY_URL: None,
        LLR_URL: None,
        "https://policeprofessional.com/news/evidence-vrus-reduce-serious-violence-but-consistent-approach-"
        "needed-say-hmicfrs": "2023-03-08",
        "https://yjresourcehub.uk/an-inspection-of-how-well-the-police-tackle-serious-youth-violence-his-majesty-s-"
        "inspectorate-of-constabulary-and-fire-rescue-services-march-2023/": None,
        "https://streetguide.co.uk/parliament/written/1645983/4409": "2023-06-27",
        "http://www.government-world.com/author/hm-government/page/13156/?print=print-search": "2019-08-12",
        "https://hmicfrs.justiceinspectorates.gov.uk/publication-html/"
        "young-peoples-experiences-of-serious-youth-violence/": "2023-03-08",
        "https://yjlc.uk/resources/legal-updates/deferred-prosecution-outcome-22": None,
        "https://www.governmentbusiness.co.uk/news/01042022/further-%C2%A3130-million-bolster-efforts-tackle-"
        "violence": None,
    }
    for url, issued in expected.items():
        assert url in by_url, url
        if issued is not None:
            assert by_url[url]["issued"] == issued, url


def check_inspected_areas_named(result, rows):
    # report-facts.md section 1: "NAMES OF THE 12 FORCES: NOT FOUND in any source available."
    assert len(rows) == 1
    assert int(rows[0]["areasStated"]) == 12
    assert int(rows[0]["areasNamed"]) == 0
    assert rows[0]["namesStatus"] == "members unknown"


def check_govuk_organisations(result, rows):
    # linking.md section 3: the five GOV.UK organisation pages; the NPCC has none.
    assert {r["govukPage"] for r in rows} == {
        GOVUK + "hm-inspectorate-of-constabulary-and-fire-rescue-services",
        GOVUK + "home-office",
        GOVUK + "department-for-education",
        GOVUK + "crown-prosecution-service",
        GOVUK + "college-of-policing",
    }
    assert len(rows) == 5
    acronyms = {r["govukPage"]: r["acronym"] for r in rows}
    assert acronyms[GOVUK + "hm-inspectorate-of-constabulary-and-fire-rescue-services"] == "HMICFRS"
    assert acronyms[GOVUK + "department-for-education"] == "DfE"
    assert acronyms[GOVUK + "crown-prosecution-service"] == "CPS"
    assert not any("National Police Chiefs" in r["organisation"] for r in rows)


def check_vru_counts_by_year(result, rows):
    # linking.md section 2.1: 18 from 2019, 2 more (Cleveland, Humberside) in 2022, 20 in all.
    assert [(r["year"], int(r["newUnits"]), int(r["unitsFundedByThen"])) for r in rows] == [
        ("2019", 18, 18), ("2022", 2, 20)]


def check_responses_to_report(result, rows):
    # report-facts.md sections 6 and 11: three responses.
    assert len(rows) == 3
    by_url = {r["url"]: r for r in rows}
    assert set(by_url) == {WEST_MERCIA_URL, SURREY_URL, LLR_URL}
    wm = by_url[WEST_MERCIA_URL]
    assert wm["author"] == "Police and Crime Commissioner for West Mercia"
    assert wm["issued"] == "2023-04-26"
    assert wm["addressedTo"] == "Suella Braverman"
    assert int(wm["statements"]) >= 3
    surrey = by_url[SURREY_URL]
    assert surrey["author"] == "Police and Crime Commissioner for Surrey"
    assert surrey["title"] == "Commissioner's response to HMICFRS report"
    assert surrey["issued"] is None  # "Date of the Surrey response: NOT found."
    llr = by_url[LLR_URL]
    assert llr["author"] == "Police and Crime Commissioner for Leicester, Leicestershire and Rutland"
    assert llr["signedBy"] == "Rupert Matthews"
    assert llr["issued"] is None  # "date not shown"
    assert rows[0]["url"] == WEST_MERCIA_URL  # the dated response first


def check_inspection_activities(result, rows):
    # seed-report-summary.txt and report-facts.md section 4.
    figures = {int(r["value"]): r for r in rows if r["value"] is not None}
    assert set(figures) == {300, 13, 9}
    assert (figures[300]["qualifier"], figures[300]["unit"]) == ("more than", "documents")
    assert (figures[13]["qualifier"], figures[13]["unit"], figures[13]["carriedOutBy"]) == (
        "exactly", "people", "User Voice")
    assert "18" in figures[13]["participants"] and "24" in figures[13]["participants"]
    assert (figures[9]["unit"], figures[9]["carriedOutBy"]) == ("people", "User Voice")  # 9 of 13 in care
    # chief officers and VRU heads were interviewed by HMICFRS; the number is not given anywhere.
    interviews = [r for r in rows if r["carriedOutBy"] == HMICFRS]
    assert len(interviews) == 1
    assert interviews[0]["value"] is None
    assert "chief officers" in interviews[0]["participants"].lower()
    assert len({r["activity"] for r in rows}) == 3


def check_findings_with_recommendations(result, rows):
    # report-facts.md section 2.
    assert {(r["finding"], r["addressee"], r["deadline"]) for r in rows} == {
        ("finding-interventions-not-evaluated", "Home Office", None),
        ("finding-outcome-22-flawed-understanding", "Chief constables", "2024-03-31"),
    }
    assert len(rows) == 2


def check_vru_funding_year_backing(result, rows):
    # the research (issue 19): the written answer of 27 June 2023 ("18 areas until 2022"), Government Business
    # (1 April 2022: "two new units to be established in Cleveland and Humberside") and the CURV decision ("In
    # April 2022, the Home Office announced three years of funding"); not the Cleveland PCC news item
    assert {(r["fundedFrom"], r["document"].rsplit("/", 1)[-1]) for r in rows} == {
        ("2022", "pq-answer-2023-06-27"), ("2022", "governmentbusiness-130m"), ("2022", "cleveland-pcc-curv-decision")}
    assert {r["url"] for r in rows} == {
        "https://streetguide.co.uk/parliament/written/1645983/4409",
        "https://www.governmentbusiness.co.uk/news/01042022/further-%C2%A3130-million-bolster-efforts-tackle-violence",
        "https://www.cleveland.pcc.police.uk/working-for-you/decisions/decision-notices/"
        "decision-2023-24-0048-curv-grant-funding/"}
    assert all(r["vru"].endswith("/vru/vru-cleveland") for r in rows)


def check_single_source_facts(result, rows):
    facts = {(r["thing"].rsplit("/", 1)[-1], r["property"].rsplit("/", 1)[-1].rsplit("#", 1)[-1], r["value"]):
             r["document"].rsplit("/", 1)[-1] for r in rows}
    # only the CURV decision names Cleveland's unit; only the Surrey response gives the definition's ages
    assert facts[("vru-cleveland", "prefLabel", "Cleveland Unit for the Reduction of Violence")] == \
        "cleveland-pcc-curv-decision"
    assert facts[("syv-working-definition", "minimumAge", "14")] == "surrey-pcc-response"
    assert facts[("syv-working-definition", "maximumAge", "24")] == "surrey-pcc-response"
    # backed by three documents, so not here
    assert ("vru-cleveland", "fundingStartYear", "2022") not in facts
    assert len(facts) == len(rows)  # each fact once, with its one document


EXPECTED = {
    "vru-funding-year-backing": check_vru_funding_year_backing,
    "single-source-facts": check_single_source_facts,
    "vru-areas-funded-2022": check_vru_areas_funded_2022,
    "chief-constable-recommendations": check_chief_constable_recommendations,
    "west-mercia-outcome-22": check_west_mercia_outcome_22,
    "inspected-areas-without-vru": check_inspected_areas_without_vru,
    "police-powers-findings": check_police_powers_findings,
    "vru-area-ons-codes": check_vru_area_ons_codes,
    "recommendation-counts": check_recommendation_counts,
    "headline-findings": check_headline_findings,
    "report-figures": check_report_figures,
    "recommendation-responses": check_recommendation_responses,
    "working-definition": check_working_definition,
    "instruments-legislation": check_instruments_legislation,
    "outcome-22": check_outcome_22,
    "vrus-with-forces": check_vrus_with_forces,
    "forces-without-vru": check_forces_without_vru,
    "companion-report": check_companion_report,
    "report-sections": check_report_sections,
    "sources-cited": check_sources_cited,
    "inspected-areas-named": check_inspected_areas_named,
    "govuk-organisations": check_govuk_organisations,
    "vru-counts-by-year": check_vru_counts_by_year,
    "responses-to-report": check_responses_to_report,
    "inspection-activities": check_inspection_activities,
    "findings-with-recommendations": check_findings_with_recommendations,
}


# --- the tests -----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def store(built_out):
    return querying.open_store(built_out)


def test_there_are_enough_competency_questions():
    assert len(QUERY_NAMES) >= 18


def test_every_query_has_a_checked_answer():
    missing = sorted(set(QUERY_NAMES) - set(EXPECTED))
    assert not missing, f"queries without an expected answer in tests/test_queries.py: {missing}"
    stale = sorted(set(EXPECTED) - set(QUERY_NAMES))
    assert not stale, f"expected answers for queries that do not exist: {stale}"


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_query_file_is_documented_and_ordered(name):
    text = querying.resolve(name).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("# Question: ") and len(lines[0]) > len("# Question: ")
    assert lines[1].startswith("# Answer checked against: data/") or (
        lines[1].startswith("# Answer checked against: ") and "https://" in lines[1])
    paths = [w.strip("()\"';,") for w in lines[1].split() if "/" in w and "://" not in w and w != "/"]
    assert not any(p.startswith("/") or "shared" in p.split("/") for p in paths), paths  # no machine file paths
    assert "ORDER BY" in text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_query_answer(store, name):
    result = querying.run(store, querying.resolve(name).read_text(encoding="utf-8"))
    assert result.kind == "select"
    rows = records(result)
    assert rows, f"{name} returned no rows"
    EXPECTED[name](result, rows)


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_query_runs_from_the_command_line(built_out, name, capsys):
    assert main(["query", name, "--out", str(built_out), "--format", "csv"]) == 0
    output = capsys.readouterr().out
    assert len(output.splitlines()) >= 2  # a header and at least one row
