"""Evaluation metrics on small hand-made gold and predictions whose scores are known."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from extractor.cli import app
from extractor.errors import ConfigError
from extractor.evaluation.gold import (
    Counts,
    Prediction,
    align_authors,
    canonical_family,
    canonical_institution,
    evaluate,
    extended_scope,
    load_gold,
    match_papers,
)

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def gold(pid: str, countries: list[str], *, authors: list[tuple[str, list[int]]] | None = None,
         affs: list[tuple[str, str]] | None = None, models: list[dict] | None = None, **extra: object) -> dict:
    affs = affs or [(f"Org {c}", c) for c in countries]
    authors = authors or [(f"Person {k}", [k]) for k in range(len(affs))]
    return {
        "id": pid, "title": f"Paper {pid}", **extra,
        "authors": [{"name": n, "affiliations": a, "email": None} for n, a in authors],
        "affiliations": [{"raw": r, "institution": r, "country": c} for r, c in affs],
        "countries": sorted(set(countries)),
        "model_mentions": models or [],
    }


def pred(pid: str, countries: list[str], *, authors: list[tuple[str, list[str]]] | None = None,
         institutions: list[str] | None = None, families: list[str] | None = None) -> Prediction:
    authors = authors or [(f"Person {k}", [c]) for k, c in enumerate(countries)]
    return Prediction(paper_id=pid, source_file=f"{pid}.pdf", title=f"Paper {pid}",
                      authors=[(n, sorted(c), None) for n, c in authors], countries=sorted(set(countries)),
                      institutions=institutions if institutions is not None else [f"Org {c}" for c in countries],
                      families=families or [])


def test_country_set_and_us_cn_flag_precision_recall() -> None:
    g = [gold("a", ["US", "CN"]), gold("b", ["US"]), gold("c", ["CN", "US"]), gold("d", ["GB"])]
    p = [pred("a", ["US", "CN"]), pred("b", ["US", "CN"]), pred("c", ["CN"]), pred("d", ["GB"])]
    r = evaluate(g, p)
    assert (r.country_set_exact.hit, r.country_set_exact.n) == (2, 4)
    assert (r.us_cn.tp, r.us_cn.fp, r.us_cn.fn) == (1, 1, 1)
    assert r.us_cn.precision == r.us_cn.recall == r.us_cn.f1 == pytest.approx(0.5)
    assert sorted(m.gold_id for m in r.misses if m.country_wrong) == ["b", "c"]


def test_per_author_country_aligns_by_name_not_position() -> None:
    g = [gold("a", ["US", "CN"], authors=[("Zhi-Hua Zhou", [1]), ("Alice Smith", [0])],
              affs=[("MIT", "US"), ("Nanjing University", "CN")])]
    p = [pred("a", ["US", "CN"], authors=[("Alice Smith", ["US"]), ("Zhihua Zhou", ["CN"]), ("Extra Person", ["US"])])]
    r = evaluate(g, p)
    assert (r.author_country.hit, r.author_country.n) == (2, 2)
    assert (r.author_names.tp, r.author_names.fp, r.author_names.fn) == (2, 1, 0)


def test_unmatched_gold_counts_as_wrong() -> None:
    r = evaluate([gold("a", ["US"]), gold("zzz", ["FR"])], [pred("a", ["US"])])
    assert r.n_matched == 1 and (r.country_set_exact.hit, r.country_set_exact.n) == (1, 2)
    assert any(m.gold_id == "zzz" and m.note == "no matching document" for m in r.misses)


def test_institution_f1_uses_canonical_names() -> None:
    g = [gold("a", ["US", "GB"], affs=[("MIT", "US"), ("DeepMind", "GB")])]
    p = [pred("a", ["US", "GB"], institutions=["Massachusetts Institute of Technology", "Google DeepMind", "Acme Widgets"])]
    r = evaluate(g, p)
    assert (r.institutions.tp, r.institutions.fp, r.institutions.fn) == (2, 1, 0)
    assert canonical_institution("MIT") == canonical_institution("Massachusetts Institute of Technology")


def test_model_family_f1_core_tier_only() -> None:
    models = [{"family": "Llama", "tier": "core"}, {"family": "BERT", "tier": "core"},
              {"family": "ResNet", "tier": "extended"}]
    g = [gold("a", ["US"], models=models)]
    p = [pred("a", ["US"], families=["llama", "ResNet", "GPT", "VGG"])]  # VGG: extended scope, not listed
    r = evaluate(g, p)
    assert r.families_scope == "core tier"
    assert (r.families.tp, r.families.fp, r.families.fn) == (1, 1, 1)
    assert r.families.f1 == pytest.approx(0.5)


def test_extended_tier_follows_the_family_category() -> None:
    """Tiered gold: a convolutional backbone (RegNet, Res2Net, ConvNeXt: no self-attention in
    the registry's model source), a word embedding (GloVe) or a recommender model predicted
    beside the core families is neither right nor wrong; a Transformer-lineage vision family
    (DeiT, SegFormer) or an embedding retriever (E5) not in the gold is a false positive."""
    g = [gold("a", ["US"], models=[{"family": "Llama", "tier": "core"}])]
    ignored = ["RegNet", "Res2Net", "ConvNeXt", "GloVe", "SASRec", "ResNeSt"]
    p = [pred("a", ["US"], families=["Llama", *ignored, "DeiT", "SegFormer", "E5"])]
    r = evaluate(g, p)
    assert (r.families.tp, r.families.fp, r.families.fn) == (1, 3, 0)
    assert {canonical_family(f) for f in ignored} <= extended_scope()
    assert canonical_family("DeiT") not in extended_scope() and canonical_family("BERT") not in extended_scope()


def test_counts_without_any_positive_are_undefined() -> None:
    c = Counts()
    assert c.precision is None and c.recall is None and c.f1 is None


def test_matching_by_file_id_and_title() -> None:
    preds = [Prediction("1", "x-numbered.pdf", title="Some Title"), Prediction("2", "bert.pdf", title="Other"),
             Prediction("3", "whatever.pdf", title="Attention Is All You Need")]
    g = [{"id": "q", "source_file": "x-numbered.pdf"}, {"id": "bert"},
         {"id": "t", "title": "Attention is all you need!"}, {"id": "none", "title": "Nothing like it"}]
    how = [(m[0]["id"], m[1].paper_id if m[1] else None, m[2]) for m in match_papers(g, preds)]
    assert how == [("q", "1", "file"), ("bert", "2", "id"), ("t", "3", "title"), ("none", None, "unmatched")]


def test_align_authors_handles_initials_and_accents() -> None:
    assert align_authors(["Łukasz Nowakowski", "R. Q. Qin"], ["R.Q. Qin", "Lukasz Nowakowski"]) == {0: 1, 1: 0}


def test_load_gold_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text('{"id": "a"}\n{not json}\n')
    with pytest.raises(ConfigError, match=r"g.jsonl:2"):
        load_gold(path)


def test_eval_command_on_samples(tmp_path: Path) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    rows = [json.loads(line) for line in (SAMPLES / "truth.jsonl").read_text().splitlines() if line][:3]
    for row in rows:
        shutil.copy(SAMPLES / row["source_file"], folder / row["source_file"])
    gold_path = tmp_path / "gold.jsonl"
    gold_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    db = str(tmp_path / "e.db")
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(folder), "--db", db, "-q"]).exit_code == 0
    result = runner.invoke(app, ["eval", "--db", db, "--gold", str(gold_path), "--json", "--backend", "rules"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["n_matched"] == 3 and data["country_set_exact"]["value"] == 1.0
    text = runner.invoke(app, ["eval", "--db", db, "--gold", str(gold_path), "--show-misses", "5"])
    assert text.exit_code == 0 and "paper country set exact" in text.output


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('["a list", "not a paper"]', "expected a JSON object"),
        ('{"id": "p", "authors": "A. Author"}', "'authors' must be a list of objects"),
        ('{"id": "p", "authors": [{"name": "A", "affiliations": [3]}], "affiliations": [{"raw": "X"}]}',
         r"authors\[0\].affiliations"),
        ('{"id": "p", "countries": "US"}', "'countries'"),
    ],
)
def test_load_gold_refuses_a_file_in_another_shape(tmp_path: Path, line: str, field: str) -> None:
    path = tmp_path / "g.jsonl"
    path.write_text('{"id": "ok", "authors": [{"name": "A", "affiliations": [0]}], "affiliations": [{"raw": "X"}]}\n'
                    + line + "\n")
    with pytest.raises(ConfigError, match=rf"g.jsonl:2 is not a gold paper: .*{field}"):
        load_gold(path)
