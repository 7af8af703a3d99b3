"""The rules backend on the bundled samples and on papers the generator renders in every layout.

Self-contained: data/samples (committed PDFs + truth.jsonl) and inline metadata rendered
by devtools.generate. Hand-drawn edge cases live in test_rules_edges.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devtools.generate import LAYOUTS, render_paper
from extractor.evaluation.gold import align_authors
from extractor.extract.rules import RulesBackend, looks_like_names
from extractor.ingest.files import read_document
from extractor.schemas import PaperExtraction

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
TRUTH = [json.loads(line) for line in (SAMPLES / "truth.jsonl").read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def backend() -> RulesBackend:
    return RulesBackend()


def extract(backend: RulesBackend, path: Path) -> PaperExtraction:
    doc = read_document(path)
    assert doc.ok, doc.error
    return backend.extract(doc)


def author_countries(truth: dict) -> list[list[str]]:
    affs = truth["affiliations"]
    return [sorted({affs[i]["country"] for i in a["affiliations"] if affs[i]["country"]}) for a in truth["authors"]]


# --------------------------------------------------------------------------- samples


@pytest.mark.parametrize("truth", TRUTH, ids=[Path(t["source_file"]).stem for t in TRUTH])
def test_sample_countries_authors_emails(backend: RulesBackend, truth: dict) -> None:
    ext = extract(backend, SAMPLES / truth["source_file"])
    assert ext.countries() == truth["countries"]
    gold_names = [a["name"] for a in truth["authors"]]
    got_names = [a.name for a in ext.authors]
    assert got_names == gold_names
    got_countries = ext.author_countries()
    assert got_countries == author_countries(truth)
    assert [a.email for a in ext.authors] == [a["email"] for a in truth["authors"]]


def test_every_sample_affiliation_is_grounded(backend: RulesBackend) -> None:
    for truth in TRUTH:
        ext = extract(backend, SAMPLES / truth["source_file"])
        for aff in ext.affiliations:
            assert aff.evidence is not None and aff.evidence.grounded, (truth["source_file"], aff.raw)
        for author in ext.authors:
            assert author.evidence is not None and author.evidence.grounded, (truth["source_file"], author.name)


# --------------------------------------------------------------------------- generated, every layout


def aff(raw: str, institution: str, country: str) -> dict:
    return {"raw": raw, "institution": institution, "department": None, "country": country, "country_source": None}


PARTICLES_CJK = {
    "id": "test:names", "venue": "nips", "year": 2018,
    "title": "Learning to Read Author Blocks from Papers of Many Templates",
    "abstract": "We fine-tune BERT and compare with GPT-4 on front matter.",
    "authors": [
        {"name": "Laurens van der Maaten", "email_domain": "fb.com",
         "affiliations": [aff("Facebook AI Research, New York, USA", "Facebook", "US")]},
        {"name": "Fernando de la Torre", "email_domain": "cmu.edu",
         "affiliations": [aff("Carnegie Mellon University, USA", "Carnegie Mellon University", "US")]},
        {"name": "Zhi-Hua Zhou", "email_domain": "nju.edu.cn",
         "affiliations": [aff("Nanjing University, Nanjing, China", "Nanjing University", "CN")]},
        {"name": "YI WU", "email_domain": "tsinghua.edu.cn",
         "affiliations": [aff("Tsinghua University, Beijing, China", "Tsinghua University", "CN"),
                          aff("Shanghai Qi Zhi Institute, China", "Shanghai Qi Zhi Institute", "CN")]},
        {"name": "Jian liu", "email_domain": None,
         "affiliations": [aff("Tsinghua University, Beijing, China", "Tsinghua University", "CN")]},
    ],
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_particles_cjk_and_multiple_affiliations_in_every_layout(backend: RulesBackend, tmp_path: Path, layout: str) -> None:
    truth = render_paper(PARTICLES_CJK, tmp_path / f"names-{layout}.pdf", layout, seed=1, extras={"country_mode": "keep"})
    ext = extract(backend, tmp_path / f"names-{layout}.pdf")
    got = [a.name for a in ext.authors]
    want = [a["name"] for a in truth["authors"]]
    assert align_authors(want, got) == {i: i for i in range(len(want))}, got
    assert ext.countries() == ["CN", "US"]
    assert ext.author_countries() == author_countries(truth)
    by_id = {a.id: a for a in ext.affiliations}
    yi = ext.authors[3]
    assert {by_id[i].institution for i in yi.affiliation_ids} >= {"Tsinghua University"}
    assert len(yi.affiliation_ids) == 2


def test_model_mentions_skip_the_bibliography(backend: RulesBackend, tmp_path: Path) -> None:
    render_paper(PARTICLES_CJK, tmp_path / "m.pdf", "numbered", seed=3, extras={"two_pages": True, "models": False})
    ext = extract(backend, tmp_path / "m.pdf")
    families = {m.family.casefold() for m in ext.model_mentions}
    assert {"bert", "gpt"} <= families
    assert all(m.role is None for m in ext.model_mentions)
    assert {m.where.value for m in ext.model_mentions if m.family.casefold() == "bert"} == {"abstract"}


# --------------------------------------------------------------------------- unit helpers


@pytest.mark.parametrize("text,expected", [
    ("Laurens van der Maaten, Fernando de la Torre", True),
    ("Zhi-Hua Zhou, YI WU, Jian liu", True),
    ("Tomas Berger  Irena Kovacic", True),
    ("Télécom ParisTech, France", False),
    ("Beijing, China", False),
    ("Department of Computer Science", False),
    ("Hong Kong", False),
    ("Ai Kawamura, Mila Novak, Eth Brown", True),  # given names, not AI / Mila / ETH
    ("Anna Berg · Jun Wang · Eva Lind", True),
    ("... perspectives. Empirically, the method is robust", False),
])
def test_looks_like_names(text: str, expected: bool) -> None:
    from extractor.resolve import get_resolver

    assert looks_like_names(text, get_resolver()) is expected


def test_backend_is_registered_and_versioned() -> None:
    from extractor.config import Settings
    from extractor.extract.base import get_backend

    b = get_backend("rules", Settings())
    assert b.name == "rules" and "rules" in b.cache_key() and b.meta().backend == "rules"


def test_document_without_front_matter_gives_a_warning(backend: RulesBackend) -> None:
    from extractor.schemas import Document

    ext = backend.extract(Document(sha256="0" * 64, source_file="x.pdf"))
    assert ext.authors == [] and ext.warnings


def test_marker_helpers() -> None:
    from extractor.extract.rules.backend import _decompose
    from extractor.extract.rules.lines import split_markers

    assert split_markers("1,2∗") == ["1", "2", "*"]
    assert split_markers("* 1") == ["*", "1"]
    assert split_markers("††") == ["††"]
    assert sorted(_decompose("†††", {"†": [0], "††": [1]})) == ["†", "††"]
    assert _decompose("‡‡", {"†": [0]}) == []


def test_units_cut_and_split() -> None:
    from extractor.extract.rules.cache import CachedResolver
    from extractor.extract.rules.units import cut_note, split_institutions
    from extractor.resolve import get_resolver

    r = CachedResolver(get_resolver())
    assert cut_note("University of Copenhagen, Denmark. Correspondence to: A <a@b.dk>") == "University of Copenhagen, Denmark."
    assert cut_note("Lena Fox and Omar Haddad are the corresponding authors.") == ""
    assert split_institutions("UIUC & UChicago", r) == ["UIUC", "UChicago"]
    assert split_institutions("MIT, Cambridge, MA", r) == ["MIT, Cambridge, MA"]
    assert split_institutions("Paul G. Allen School of Computer Science & Engineering, University of Washington", r) \
        == ["Paul G. Allen School of Computer Science & Engineering, University of Washington"]
