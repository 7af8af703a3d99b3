"""Layouts of other generators (LNCS, IEEE, ACM, ICML): what they print, and the rules on the
conventions they bring. Metadata is inline; the class-level PDFs are drawn here with pymupdf,
with made-up people and generic public organisations.
"""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
import pytest

from devtools.generate import DEFAULT_LAYOUTS, LAYOUTS, generate_corpus, render_paper
from devtools.layouts_more import MORE_LAYOUTS, acm_lines, initials_name
from extractor.extract.rules import RulesBackend
from extractor.ingest.layout import expand_emails
from tests.test_rules_edges import Page, countries_of, run


def aff(raw: str, institution: str, country: str) -> dict:
    return {"raw": raw, "institution": institution, "department": None, "country": country, "country_source": None}


PAPER = {
    "id": "test:other", "venue": "nips", "year": 2018, "title": "Sparse Kernels for Streaming Graphs",
    "abstract": "We study sparse kernels on streaming graphs and bound their regret.",
    "authors": [
        {"name": "Ana Lima", "email_domain": "stanford.edu",
         "affiliations": [aff("Department of Computer Science, Stanford University, Stanford, CA 94305, USA",
                              "Stanford University", "US")]},
        {"name": "Ben Ortiz", "email_domain": "stanford.edu",
         "affiliations": [aff("Department of Computer Science, Stanford University, Stanford, CA 94305, USA",
                              "Stanford University", "US")]},
        {"name": "Wei-Ming Zhao", "email_domain": "pku.edu.cn",
         "affiliations": [aff("School of EECS, Peking University, Beijing 100871, China", "Peking University", "CN"),
                          aff("University of Oxford, Oxford, UK", "University of Oxford", "GB")]},
        {"name": "Carla van der Berg", "email_domain": "ox.ac.uk",
         "affiliations": [aff("University of Oxford, Oxford, UK", "University of Oxford", "GB")]},
    ],
}


@pytest.fixture(scope="module")
def backend() -> RulesBackend:
    return RulesBackend()


def author_countries(truth: dict) -> dict[str, list[str]]:
    return {a["name"]: sorted({truth["affiliations"][u]["country"] for u in a["affiliations"]}) for a in truth["authors"]}


# --------------------------------------------------------------------------- the generator


def test_new_layouts_are_registered_but_not_in_the_default_round_robin(tmp_path: Path) -> None:
    assert set(MORE_LAYOUTS) == {"lncs", "ieee", "acm", "icml"} and set(MORE_LAYOUTS) <= set(LAYOUTS)
    assert not set(MORE_LAYOUTS) & set(DEFAULT_LAYOUTS)
    src = tmp_path / "p.jsonl"
    src.write_text(__import__("json").dumps(PAPER) + "\n", encoding="utf-8")
    truths = generate_corpus(src, tmp_path / "out", n=5).read_text(encoding="utf-8")
    assert not any(f'"layout": "{name}"' in truths for name in MORE_LAYOUTS)


@pytest.mark.parametrize("layout", list(MORE_LAYOUTS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_layout_prints_its_truth(layout: str, seed: int, tmp_path: Path) -> None:
    truth = render_paper(PAPER, tmp_path / f"{layout}.pdf", layout, seed=seed, extras={"country_mode": "keep"})
    page1 = pymupdf.open(tmp_path / f"{layout}.pdf")[0].get_text()
    flat = re.sub(r"[\s,]+", " ", page1)
    assert [a["name"] for a in truth["authors"]] == [a["name"] for a in PAPER["authors"]]
    assert truth["countries"] == ["CN", "GB", "US"]
    assert author_countries(truth)["Wei-Ming Zhao"] == ["CN", "GB"]
    for unit in truth["affiliations"]:
        assert re.sub(r"[\s,]+", " ", unit["raw"]) in flat, unit["raw"]
    for author in truth["authors"]:
        assert author["name"] in re.sub(r"\s+", " ", page1)
        if author["email"]:
            assert author["email"] in expand_emails(page1)
    if layout == "ieee":
        assert re.search(r"are with (the )?(Department|Dept\.)", re.sub(r"\s+", " ", page1))
        assert "W.-M. Zhao is with" in re.sub(r"\s+", " ", page1)


def test_affiliation_helpers() -> None:
    assert initials_name("Wei-Ming Zhao") == "W.-M. Zhao"
    assert initials_name("Carla van der Berg") == "C. van der Berg"
    assert acm_lines("Department of Computer Science, Stanford University, Stanford, CA 94305, USA") == [
        "Department of Computer Science", "Stanford University", "Stanford, CA 94305, USA"]


@pytest.mark.parametrize("layout", list(MORE_LAYOUTS))
def test_rules_read_every_new_layout(backend: RulesBackend, layout: str, tmp_path: Path) -> None:
    for seed in range(4):
        path = tmp_path / f"{layout}-{seed}.pdf"
        truth = render_paper(PAPER, path, layout, seed=seed)
        ext = run(backend, path)
        assert [a.name for a in ext.authors] == [a["name"] for a in truth["authors"]], (layout, seed)
        assert countries_of(ext) == author_countries(truth), (layout, seed)


# --------------------------------------------------------------------------- failure classes


def test_ieee_society_grades_are_not_names_and_footnote_sentences_link(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.line(130, "Ana Lima, Member, IEEE, Ben Ortiz, Senior Member, IEEE, and Eva Nowak, Fellow, IEEE")
    path = p.finish(tmp_path / "ieee.pdf", footnotes=[
        [("Manuscript received May 2, 2017. (Corresponding author: Ana Lima.) A. Lima and B. Ortiz are", False)],
        [("with the Dept. of Physics, Univ. of Oslo, 0316 Oslo Norway (e-mail: ana@uio.no; ben@uio.no).", False)],
        [("E. Nowak is with Univ. College London, London, U.K., and also with Aalto University, Finland.", False)],
    ])
    ext = run(backend, path)
    assert [a.name for a in ext.authors] == ["Ana Lima", "Ben Ortiz", "Eva Nowak"]
    assert countries_of(ext) == {"Ana Lima": ["NO"], "Ben Ortiz": ["NO"], "Eva Nowak": ["FI", "GB"]}


def test_lncs_orcid_and_envelope_marks_are_not_part_of_names(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Ana Lima", False), ("1", True), ("(B)", False), ("[0000-0002-1825-0097]", True),
                 (", Ben Ortiz", False), ("2[0000-0001-5109-3700]", True), (", and Eva Nowak", False), ("1,2", True)])
    p.runs(150, [("1", True), ("University of Oslo, Oslo, Norway", False)], size=9)
    p.line(162, "{ana,eva}@uio.no", size=9)
    p.runs(176, [("2", True), ("Aalto University, Espoo, Finland", False)], size=9)
    ext = run(backend, p.finish(tmp_path / "lncs.pdf"))
    assert [a.name for a in ext.authors] == ["Ana Lima", "Ben Ortiz", "Eva Nowak"]
    assert countries_of(ext) == {"Ana Lima": ["NO"], "Ben Ortiz": ["FI"], "Eva Nowak": ["FI", "NO"]}
    assert {a.name: a.email for a in ext.authors}["Eva Nowak"] == "eva@uio.no"


def test_note_after_a_dotted_country_keeps_the_unit_whole(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Ana Lima", False), ("1", True), ("   Ben Ortiz", False), ("2", True)], bold=True)
    path = p.finish(tmp_path / "icml.pdf", footnotes=[
        [("1", True), ("Dept. of Physics, Univ. of Oslo, Norway ", False), ("2", True),
         ("Dept. of Statistics, Univ. of Cambridge, U.K. Correspondence to: Ana Lima <ana@uio.no>.", False)],
    ])
    ext = run(backend, path)
    assert countries_of(ext) == {"Ana Lima": ["NO"], "Ben Ortiz": ["GB"]}
    assert any(a.raw.endswith("Univ. of Cambridge, U.K") or "Cambridge" in a.raw for a in ext.affiliations)


def test_acm_levels_on_their_own_lines_form_one_unit(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    # a laboratory the gazetteer knows by itself, then its university: still one unit
    for cx, name, lines in [(180, "Ana Lima", ["Coordinated Science Laboratory", "University of Illinois",
                                               "Urbana, IL, USA"]),
                            (430, "Ben Ortiz", ["Vector Institute", "University of Toronto", "Toronto, Canada"])]:
        p.line(130, name, centre=cx)
        for k, text in enumerate(lines):
            p.line(144 + 12 * k, text, size=10, centre=cx)
    ext = run(backend, p.finish(tmp_path / "acm.pdf"))
    by_id = {a.id: a for a in ext.affiliations}
    units = {a.name: [by_id[i].institution for i in a.affiliation_ids] for a in ext.authors}
    assert units["Ana Lima"] == ["University of Illinois Urbana-Champaign"]
    assert by_id[ext.authors[0].affiliation_ids[0]].raw.startswith("Coordinated Science Laboratory, University")
    assert len(units["Ben Ortiz"]) == 2  # two organisations, each a unit of its own
    assert countries_of(ext) == {"Ana Lima": ["US"], "Ben Ortiz": ["CA"]}
