"""The synthetic paper generator: truth matches what the PDF gives back through pymupdf.

Self-contained: metadata comes from data/samples/papers.jsonl (committed) or inline dicts.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pymupdf
import pytest

from devtools import bodytext as bt
from devtools import paperprep as pp
from devtools.generate import DEFAULT_LAYOUTS, LAYOUTS, file_stem, generate_corpus, main, render_bytes, render_paper
from extractor.schemas import PaperContent, Role

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
PAPERS = [json.loads(line) for line in (SAMPLES / "papers.jsonl").read_text(encoding="utf-8").splitlines() if line]
BY_ID = {p["id"]: p for p in PAPERS}
MARKED = ["numbered", "footnote", "symbols"]  # layouts that tie names to affiliations by markers


def aff(raw: str, institution: str, country: str, source: str) -> dict:
    return {"raw": raw, "institution": institution, "department": None, "country": country, "country_source": source}


ACCENTED = {
    "id": "test:accents", "venue": "nips", "year": 2018, "title": "Robust $\\ell_1$ Estimation for Gödel Machines",
    "abstract": "We study \\emph{robust} estimation \\cite{a,b}.",
    "authors": [
        {"name": "Mikołaj Bińkowski", "email_domain": "ucl.ac.uk",
         "affiliations": [aff("University College London", "University College London", "GB", "United Kingdom")]},
        {"name": "Skjalg Lepsøy", "email_domain": "ntnu.no",
         "affiliations": [aff("NTNU, Trondheim, Norway", "NTNU", "NO", "Norway")]},
        {"name": "Zhi-Hua Zhou", "email_domain": "nju.edu.cn",
         "affiliations": [aff("Nanjing University, China", "Nanjing University", "CN", "China")]},
        {"name": "Mihaela van der Schaar", "email_domain": "ucla.edu",
         "affiliations": [aff("UCLA", "UCLA", "US", "United States"),
                          aff("University College London", "University College London", "GB", "United Kingdom")]},
        {"name": "Stephan Clémençon", "email_domain": None,
         "affiliations": [aff("LTCI Telecom ParisTech, Universit ´e Paris-Saclay", "Telecom ParisTech", "FR", "France")]},
        {"name": "Łukasz Struski", "email_domain": "uj.edu.pl",
         "affiliations": [aff("Jagiellonian University∗", "Jagiellonian University", "PL", "Poland")]},
    ],
    "countries": ["CN", "FR", "GB", "NO", "PL", "US"],
}


def long_paper(n: int = 16) -> dict:
    """An n-author paper (real-looking labels) to force author lists to wrap."""
    units = [aff("Tsinghua University, Beijing, China", "Tsinghua University", "CN", "China"),
             aff("Google Research, Mountain View, CA", "Google", "US", "United States"),
             aff("Department of Computer Science, ETH Zurich", "ETH Zurich", "CH", "Switzerland")]
    given = ["Wei", "Anna", "Jean-Luc", "Xiao-Ming", "Sofia", "Lars", "Ana", "Piotr"]
    family = ["Zhang", "Müller", "de la Cruz", "Wang", "Kowalski", "Nørgaard", "García", "Nakamura"]
    authors = [{"name": f"{given[i % 8]} {family[(i * 3) % 8]}", "email_domain": "example.org",
                "affiliations": [units[i % 3]]} for i in range(n)]
    return {"id": "test:long", "venue": "nips", "year": 2018, "title": "A Very Collaborative Paper",
            "abstract": "Many people wrote this.", "authors": authors, "countries": ["CH", "CN", "US"]}


def expand_emails(text: str) -> set[str]:
    """Emails printed on a page, with {a,b}@domain groups expanded."""
    flat = text.replace("\n", " ")
    out = {m.group(0) for m in re.finditer(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", flat)}
    for m in re.finditer(r"\{([^{}]+)\}@([\w.-]+)", flat):
        out |= {f"{local.strip()}@{m.group(2)}" for local in m.group(1).split(",")}
    return out


def render(meta: dict, layout: str, tmp_path: Path, seed: int = 0, extras: dict | None = None):
    path = tmp_path / f"{file_stem(meta, layout)}-{seed}.pdf"
    truth = render_paper(meta, path, layout, seed=seed, extras=extras)
    return truth, pymupdf.open(path)


def assert_round_trip(truth: dict, doc: pymupdf.Document) -> None:
    page1 = doc[0].get_text()
    flat = re.sub(r"\s+", " ", page1)
    assert truth["title"] in flat
    for author in truth["authors"]:
        assert author["name"] in flat, author["name"]
        if author["email"]:
            assert author["email"] in expand_emails(page1), author["email"]
    # ACM prints each level of an affiliation on its own line, without the commas of ``raw``
    no_commas = re.sub(r"[\s,]+", " ", page1)
    for unit in truth["affiliations"]:
        assert re.sub(r"[\s,]+", " ", unit["raw"]) in no_commas, unit["raw"]


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("paper_id", list(BY_ID))
def test_printed_truth_comes_back_as_text(paper_id, layout, tmp_path):
    truth, doc = render(BY_ID[paper_id], layout, tmp_path)
    assert_round_trip(truth, doc)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_accented_and_particle_names_round_trip(layout, tmp_path):
    truth, doc = render(ACCENTED, layout, tmp_path)
    assert_round_trip(truth, doc)
    names = [a["name"] for a in truth["authors"]]
    assert "Mikołaj Bińkowski" in names and "Mihaela van der Schaar" in names
    raws = [u["raw"] for u in truth["affiliations"]]
    assert any("Université Paris-Saclay" in r for r in raws)  # split TeX accent rejoined
    assert all("∗" not in r for r in raws)  # footnote mark stripped
    assert truth["title"].startswith("Robust ℓ1 Estimation")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_long_author_list_wraps_and_round_trips(layout, tmp_path):
    truth, doc = render(long_paper(16), layout, tmp_path)
    assert_round_trip(truth, doc)
    assert len(truth["authors"]) == 16 and len(truth["affiliations"]) == 3  # shared units deduplicated
    ys = {round(s["origin"][1]) for b in doc[0].get_text("dict")["blocks"] for line in b.get("lines", [])
          for s in line["spans"] if s["text"].strip() in {a["name"] for a in truth["authors"]}}
    # grids wrap by construction; IEEE sets each name in one span with the comma after it
    assert len(ys) > 1 or layout in ("per-author", "acl-grid", "acm", "ieee")


# --------------------------------------------------------------------------- layout facts


def spans(doc: pymupdf.Document, page: int = 0, horizontal: bool = True) -> list[list[dict]]:
    return [line["spans"] for b in doc[page].get_text("dict")["blocks"] for line in b.get("lines", [])
            if not horizontal or line["dir"] == (1.0, 0.0)]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_title_span_is_largest_and_bold(layout, tmp_path):
    """Largest horizontal span; the rotated arXiv stamp (numbered) is 20 pt, bigger, as on arXiv."""
    truth, doc = render(BY_ID["nips2018:11201"], layout, tmp_path)
    flat = [s for line in spans(doc) for s in line if s["text"].strip()]
    biggest = max(flat, key=lambda s: s["size"])
    assert biggest["text"].strip() in truth["title"]
    assert biggest["flags"] & pymupdf.TEXT_FONT_BOLD


@pytest.mark.parametrize("layout", MARKED)
def test_markers_are_small_raised_spans_flagged_after_names(layout, tmp_path):
    """A marker right after a name is its own span, smaller, raised, with MuPDF's superscript bit."""
    truth, doc = render(long_paper(6), layout, tmp_path)
    names = {a["name"] for a in truth["authors"]}
    seen = 0
    for line in spans(doc):
        for prev, cur in zip(line, line[1:]):
            if prev["text"].strip(" ,") in names and cur["size"] < prev["size"]:
                assert cur["origin"][1] < prev["origin"][1] - 1  # raised baseline
                assert cur["flags"] & pymupdf.TEXT_FONT_SUPERSCRIPT  # bit 0
                assert re.fullmatch(r"[\d,\s*∗†‡§¶]+", cur["text"])
                seen += 1
    assert seen >= 6


def test_marker_at_line_start_is_raised_but_not_flagged(tmp_path):
    """MuPDF only flags a superscript relative to earlier text on its line; ingest must use geometry."""
    truth, doc = render(BY_ID["nips2018:11982"], "footnote", tmp_path)  # footnote starts with '1University'
    starts = [line for line in spans(doc) if len(line) > 1 and line[0]["text"] == "1"
              and line[1]["text"].startswith(truth["affiliations"][0]["raw"].split(",")[0])]
    assert starts, "footnote line starting with marker 1 not found"
    marker, text = starts[0][0], starts[0][1]
    assert marker["size"] < text["size"] and marker["origin"][1] < text["origin"][1]
    assert not marker["flags"] & pymupdf.TEXT_FONT_SUPERSCRIPT


def test_venue_lines_are_printed_but_not_affiliations(tmp_path):
    for layout, needle in [("per-author", "Montréal, Canada."), ("footnote", "Stockholm, Sweden, PMLR 80, 2018"),
                           ("acl-grid", "Association for Computational Linguistics")]:
        truth, doc = render(BY_ID["nips2018:11127"], layout, tmp_path)
        text = doc[0].get_text()
        assert needle in re.sub(r"\s+", " ", text)
        assert truth["countries"] == ["CN"]
    truth, doc = render(BY_ID["nips2018:11127"], "numbered", tmp_path)
    rotated = [line for b in doc[0].get_text("dict")["blocks"] for line in b.get("lines", []) if line["dir"][1] < 0]
    assert rotated and rotated[0]["spans"][0]["text"].startswith("arXiv:")


def test_footnote_layout_prints_correspondence_only(tmp_path):
    truth, doc = render(BY_ID["nips2018:11982"], "footnote", tmp_path)
    text = re.sub(r"\s+", " ", doc[0].get_text())
    assert "Correspondence to:" in text
    printed = [a for a in truth["authors"] if a["email"]]
    assert 1 <= len(printed) <= 2 and all(a["email"] in text for a in printed)


def test_symbols_equal_contribution_is_not_an_affiliation(tmp_path):
    truth, doc = render(BY_ID["nips2018:11201"], "symbols", tmp_path)
    assert "Equal contribution." in doc[0].get_text()
    assert all("Equal" not in u["raw"] for u in truth["affiliations"])


# --------------------------------------------------------------------------- truth record


@pytest.mark.parametrize("layout", LAYOUTS)
def test_truth_fits_the_shared_schema(layout, tmp_path):
    truth, _ = render(BY_ID["nips2018:11088"], layout, tmp_path)
    assert set(truth) == {"id", "title", "venue", "year", "layout", "source_file", "authors", "affiliations",
                          "countries", "model_mentions"}
    content = PaperContent.model_validate({
        "title": truth["title"],
        "authors": [{"name": a["name"], "affiliation_ids": a["affiliations"], "email": a["email"]}
                    for a in truth["authors"]],
        "affiliations": [{"id": i, "raw": u["raw"], "institution": u["institution"], "country": u["country"]}
                         for i, u in enumerate(truth["affiliations"])],
        "model_mentions": [{"name": m["name"], "family": m["family"], "role": m["role"]}
                           for m in truth["model_mentions"]],
    })
    assert content.countries() == truth["countries"] == ["CA", "HK", "US"]
    fidler = next(a for a in truth["authors"] if a["name"] == "Sanja Fidler")
    assert len(fidler["affiliations"]) >= 2  # a multi-affiliation author keeps every unit


def test_country_printed_or_not_truth_keeps_label(tmp_path):
    meta = BY_ID["nips2018:11127"]
    added, _ = render(long_paper(3), "numbered", tmp_path, extras={"country_mode": "add"})
    assert any(u["raw"].endswith(", Switzerland") for u in added["affiliations"])
    dropped, doc = render(meta, "numbered", tmp_path, extras={"country_mode": "drop"})
    assert dropped["affiliations"][0]["raw"].endswith("Nanjing 210023")
    assert dropped["affiliations"][0]["country"] == "CN"
    assert "China" not in doc[0].get_text().split("Abstract")[0]


def test_model_mentions_have_roles_and_skip_reference_only_models(tmp_path):
    checked = 0
    for seed in range(12):
        truth, doc = render(BY_ID["nips2018:11127"], "per-author", tmp_path, seed, {"models": True, "two_pages": True})
        full = re.sub(r"\s+", " ", " ".join(page.get_text() for page in doc))
        body, _, refs = full.partition("References ")
        names = {m["name"] for m in truth["model_mentions"]}
        for m in truth["model_mentions"]:
            assert m["name"] in body and Role(m["role"]) and m["family"] == bt.FAMILY.get(m["name"], m["family"])
        for name, *_ in bt.MODELS:
            if name in refs and not re.search(rf"\b{re.escape(name)}\b", body):
                assert name not in names
                checked += 1
    assert checked  # some paper cited a model only in its references


def test_model_names_already_in_the_abstract_get_unknown_role():
    found = bt.scan_mentions("We fine-tune ResNet-50 and a Transformer encoder.")
    assert [(m["name"], m["family"], m["role"]) for m in found] == [
        ("ResNet-50", "resnet", None), ("Transformer", "transformer", None)]


# --------------------------------------------------------------------------- text helpers


@pytest.mark.parametrize("raw,institution,expected", [
    ("DeepMind♭University College London", "University College London", "University College London"),
    ("Universit ´e de Montr ´eal", "Université de Montréal", "Université de Montréal"),
    ("´Ecole Polytechnique de Montr ´eal", "Polytechnique Montréal", "École Polytechnique de Montréal"),
    ("Stanford University, USA⇤", "Stanford University", "Stanford University, USA"),
    ("2Microsoft Research", "Microsoft", "Microsoft Research"),
    ("4Paradigm Inc.", "4Paradigm", "4Paradigm Inc."),
    ("Inﬁnia ML, Inc.", "Inﬁnia ML", "Infinia ML, Inc."),
], ids=["glued-pair", "split-accents", "leading-accent", "trailing-mark", "leading-number", "digit-name", "ligature"])
def test_clean_affiliation(raw, institution, expected):
    assert pp.clean_affiliation(raw, institution) == expected


@pytest.mark.parametrize("name,style,expected", [
    ("Mihaela van der Schaar", "flast", "mvanderschaar"),
    ("Zhi-Hua Zhou", "flast", "zhzhou"),
    ("Zhi-Hua Zhou", "lastf", "zhouzh"),
    ("Mikołaj Bińkowski", "first.last", "mikolaj.binkowski"),
    ("Shixiang (Shane) Gu", "flast", "sgu"),
    ("Skjalg Lepsøy", "first", "skjalg"),
])
def test_email_local(name, style, expected):
    assert pp.email_local(name, style) == expected


def test_email_groups_and_domains():
    assert pp.email_groups([("a", "x.edu"), ("c", "y.com"), ("b", "x.edu")]) == ["{a,b}@x.edu", "c@y.com"]
    assert pp.clean_domain("g o o g l e . c o m") == "google.com"
    assert pp.clean_domain("∗") is None


def test_latex_to_text():
    assert pp.latex_to_text(r"$\ell_1$-regression in $O(\sqrt{d/n})$ \cite{a,b} {\em really} \eg") == \
        "ℓ1-regression in O(√(d/n)) [1, 2] really e.g."


# --------------------------------------------------------------------------- files and corpus


def test_same_input_same_bytes_and_metadata():
    meta = BY_ID["nips2018:11535"]
    a, truth = render_bytes(meta, "symbols", seed=3, source_file="x.pdf")
    b, _ = render_bytes(meta, "symbols", seed=3, source_file="x.pdf")
    c, _ = render_bytes(meta, "symbols", seed=3, source_file="y.pdf")
    assert a == b and a != c
    doc = pymupdf.open(stream=a, filetype="pdf")
    assert doc.metadata["subject"] == "venue=nips;year=2018"
    assert doc.metadata["creationDate"] == "D:20180601000000Z"
    assert truth["source_file"] == "x.pdf"


def test_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="unknown layout 'nonesuch'"):
        render_bytes(PAPERS[0], "nonesuch")


def test_generate_corpus_cycles_with_distinct_files(tmp_path):
    src = tmp_path / "papers.jsonl"
    src.write_text("".join(json.dumps(p) + "\n" for p in PAPERS[:4]), encoding="utf-8")
    truth_path = generate_corpus(src, tmp_path / "one", n=11, layouts=["numbered", "acl-grid"], seed=1)
    truths = [json.loads(line) for line in truth_path.read_text(encoding="utf-8").splitlines()]
    assert len(truths) == 11 and truths[4]["source_file"].endswith("-r1.pdf")
    hashes = {hashlib.sha256((tmp_path / "one" / t["source_file"]).read_bytes()).hexdigest() for t in truths}
    assert len(hashes) == 11
    assert {t["layout"] for t in truths if t["id"] == PAPERS[0]["id"]} == {"numbered", "acl-grid"}
    pooled = generate_corpus(src, tmp_path / "two", n=11, layouts=["numbered", "acl-grid"], seed=1, workers=2)
    assert pooled.read_text(encoding="utf-8") == truth_path.read_text(encoding="utf-8")
    for t in truths:
        assert (tmp_path / "one" / t["source_file"]).read_bytes() == (tmp_path / "two" / t["source_file"]).read_bytes()


def test_cli_help_and_run(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "Example: python -m devtools.generate" in capsys.readouterr().out
    assert main([str(SAMPLES / "papers.jsonl"), str(tmp_path / "out"), "--n", "3", "--layouts", "footnote"]) == 0
    assert "wrote 3 PDFs" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main([str(SAMPLES / "papers.jsonl"), str(tmp_path / "bad"), "--layouts", "nonesuch"])
    assert exc.value.code == 2


def test_bundled_samples_regenerate_from_papers_jsonl(tmp_path):
    """data/samples is reproducible: same truth; same bytes when rendered by the same PyMuPDF."""
    truth_path = generate_corpus(SAMPLES / "papers.jsonl", tmp_path, seed=0)
    assert truth_path.read_text(encoding="utf-8") == (SAMPLES / "truth.jsonl").read_text(encoding="utf-8")
    layouts = {}
    for line in truth_path.read_text(encoding="utf-8").splitlines():
        t = json.loads(line)
        layouts[t["layout"]] = layouts.get(t["layout"], 0) + 1
        committed = (SAMPLES / t["source_file"]).read_bytes()
        producer = pymupdf.open(stream=committed, filetype="pdf").metadata["producer"]
        if producer != f"PyMuPDF {pymupdf.VersionBind}":
            pytest.skip(f"samples were rendered by {producer}; byte comparison needs the same version")
        assert (tmp_path / t["source_file"]).read_bytes() == committed, t["source_file"]
    assert set(layouts) == set(DEFAULT_LAYOUTS) and min(layouts.values()) >= 2
