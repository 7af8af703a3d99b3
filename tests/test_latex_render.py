"""The LaTeX renderer up to the .tex source: escaping, affiliation fields, templates, truth.

Nothing here runs TeX: the templates are rendered to text and checked for what pdflatex
would be given, so the tests run on machines without a TeX installation.
"""

from __future__ import annotations

import re

import pytest

from devtools import latex_render as lr
from devtools.latex_text import UnsupportedText, printable, split_unit, tex

PAPER = {
    "id": "fixture:7", "venue": "nips", "year": 2018,
    "title": "Sparse $\\ell_1$ Estimators & Their 100% Guarantees",
    "abstract": "We study estimators for R&D data, 50% cheaper, with BERT features.",
    "authors": [
        {"name": "Zoë Ångström", "email_domain": "cs.example.edu",
         "affiliations": [{"raw": "Department of Computer Science, Example University, Springfield, IL, USA",
                           "institution": "Example University", "country": "US", "country_source": "USA"}]},
        {"name": "Łukasz Kowalczyk-Nowak", "email_domain": "cs.example.edu",
         "affiliations": [{"raw": "Department of Computer Science, Example University, Springfield, IL, USA",
                           "institution": "Example University", "country": "US", "country_source": "USA"}]},
        {"name": "José Núñez", "email_domain": "r-d.example.com",
         "affiliations": [{"raw": "R&D Lab #2, Example Corp, Montréal, Canada",
                           "institution": "Example Corp", "country": "CA", "country_source": "Canada"}]},
    ],
}


def _unescaped_braces(source: str) -> int:
    """Opening minus closing braces, ignoring escaped ones: 0 for balanced LaTeX."""
    plain = source.replace(r"\{", "").replace(r"\}", "")
    return plain.count("{") - plain.count("}")


def test_tex_escapes_specials_accents_and_ligatures() -> None:
    assert tex("R&D 50% #1 a_b $5 {x}") == r"R\&D 50\% \#1 a\_b \$5 \{x\}"
    assert tex("Université de Montréal") == r"Universit\'{e} de Montr\'{e}al"
    assert tex("Łukasz Ørsted Çelik") == r"\L{}ukasz \O{}rsted \c{C}elik"
    assert tex("Zoë") == r'Zo\"{e}'
    assert tex("pages 1--2 ``q''") == "pages 1-{}-2 `{}`q'{}'"  # no en dash, no curly quotes
    assert tex("a ≤ b, ℓ1") == r"a $\leq$ b, $\ell$1"
    assert tex("Łódź & Montréal", utf8=True) == r"Łódź \& Montréal"


def test_tex_refuses_unprintable_names_but_not_body_text() -> None:
    with pytest.raises(UnsupportedText):
        tex("王小明", strict=True)
    assert tex("王", strict=False) == "?"
    assert printable("Nguyễn Văn A") is False  # two accents on one letter: no T1 spelling
    assert printable("Zoë Ångström") is True


@pytest.mark.parametrize("text, fields", [
    ("Department of Computer Science, Example University, Springfield, IL, USA",
     {"department": "Department of Computer Science", "institution": "Example University",
      "city": "Springfield", "state": "IL", "country": "USA"}),
    ("R&D Lab #2, Example Corp, Montréal, Canada",
     {"department": "R&D Lab #2", "institution": "Example Corp", "city": "Montréal", "state": "", "country": "Canada"}),
    ("Example Lab, Example Corp", {"department": "Example Lab", "institution": "Example Corp", "city": "", "state": "",
                                   "country": ""}),
    ("Example University, Research Center for AI", {"department": "", "institution": "Example University, Research Center for AI",
                                                    "city": "", "state": "", "country": ""}),
])
def test_split_unit_cuts_fields_and_keeps_the_text(text: str, fields: dict) -> None:
    inst = "Example Corp" if "Corp" in text else "Example University"
    code = "CA" if "Canada" in text else "US"
    f = split_unit(text, code, None, inst)
    assert vars(f) == fields
    assert f.printed() == text


@pytest.mark.parametrize("cls", list(lr.CLASSES))
def test_every_class_renders_escaped_names_affiliations_and_printed_emails(cls: str) -> None:
    paper = lr.prepare(PAPER, cls)
    source = lr.render_tex(paper, cls)
    truth = lr.truth_record(paper, cls, "x.pdf")

    assert "<<" not in source and "<%" not in source and _unescaped_braces(source) == 0
    assert source.startswith("\\documentclass") and source.rstrip().endswith("\\end{document}")
    assert r"Sparse $\ell$1 Estimators \& Their 100\% Guarantees" in source
    for name in (r'Zo\"{e} \AA{}ngstr\"{o}m', r"\L{}ukasz Kowalczyk-Nowak", r"Jos\'{e} N\'{u}\~{n}ez"):
        assert name in source
    assert "R\\&D Lab \\#2" in source and "Example Corp" in source
    assert r"R\&D data, 50\% cheaper" in source

    assert [a["name"] for a in truth["authors"]] == ["Zoë Ångström", "Łukasz Kowalczyk-Nowak", "José Núñez"]
    assert truth["layout"] == f"latex-{cls}" and truth["countries"] == ["CA", "US"]
    assert {u["institution"] for u in truth["affiliations"]} == {"Example University", "Example Corp"}
    assert truth["authors"][0]["affiliations"] == truth["authors"][1]["affiliations"] != truth["authors"][2]["affiliations"]
    assert {"name": "BERT", "family": "bert", "role": None} in truth["model_mentions"]
    for author in truth["authors"]:  # a truth e-mail is on the page; its local part at least (LNCS groups them)
        if author["email"]:
            assert author["email"].split("@")[0] in source and author["email"].split("@")[1] in source


def test_structured_classes_print_fields_and_acm_always_a_country() -> None:
    acm = lr.render_tex(lr.prepare(PAPER, "acm"), "acm")
    assert acm.count(r"\country{") == 3 and r"\institution{Example University}" in acm
    assert acm.count(r"\email{") == 3
    els = lr.render_tex(lr.prepare(PAPER, "elsarticle"), "elsarticle")
    assert re.search(r"\\affiliation\[\d\]\{organization=\{R\\&D Lab \\#2\},\s*addressline=\{Example Corp\}", els)
    assert "city={Montréal}" in els and "Montr\\'{e}al" not in els  # accent commands break its key=value parse
    assert r"\city{Montr\'{e}al}" in acm


def test_ieee_journal_names_authors_sharing_a_unit_in_one_thanks_note() -> None:
    source = lr.render_tex(lr.prepare(PAPER, "ieee-journal"), "ieee-journal")
    assert re.search(r"\\thanks\{Zo.*? and \\L\{\}ukasz Kowalczyk-Nowak are with Department of Computer Science, "
                     r"Example University", source)
    assert re.search(r"\\thanks\{Jos\\'\{e\} N\\'\{u\}\\~\{n\}ez is with R\\&D Lab", source)


def test_ieee_conference_switches_to_numbered_marks_for_many_groups() -> None:
    many = dict(PAPER, authors=[
        {"name": f"Author {k}", "affiliations": [{"raw": f"Institute {k}, Example City, France",
                                                   "institution": f"Institute {k}", "country": "FR"}]}
        for k in "ABCD"])
    source = lr.render_tex(lr.prepare(many, "ieee-conf"), "ieee-conf")
    assert r"Author A\IEEEauthorrefmark{1}, Author B\IEEEauthorrefmark{2}" in source
    assert source.count(r"\IEEEauthorblockA") == 1
    few = lr.render_tex(lr.prepare(PAPER, "ieee-conf"), "ieee-conf")
    assert few.count(r"\IEEEauthorblockA") == 2 and r"\and" in few


def test_render_corpus_says_when_pdflatex_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(lr.shutil, "which", lambda _name: None)
    src = tmp_path / "papers.jsonl"
    src.write_text("{}\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="pdflatex is not installed"):
        lr.render_corpus(src, tmp_path / "out", classes=["acm"], n=1)
