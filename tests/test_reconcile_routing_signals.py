"""Routing that trusts neither reader blindly, signals of the rules backend alone, and a
default model per backend set."""

from __future__ import annotations

import pytest

from extractor.config import Settings
from extractor.reconcile import confidence as conf
from extractor.reconcile.merge import build, run_reconcile
from extractor.reconcile.routing import route
from extractor.schemas import (
    Alignment,
    Document,
    Evidence,
    FrontMatter,
    Line,
    Method,
    ModelMention,
    RecordStatus,
    Where,
)
from extractor.store import Store
from tests.test_reconcile_fixtures import (
    LLM,
    RULES,
    STANFORD,
    TOKYO,
    TSINGHUA,
    add_paper,
    aff,
    author,
    document,
    extraction,
)


def confident_models() -> dict[str, conf.ModelSet]:
    """Models that call everything right: only a doubt can queue a record."""
    sure = conf.LogisticModel(conf.COUNTRY, 30.0, {})
    return {conf.COUNTRY: conf.as_model_set(sure), conf.MODELS: conf.as_model_set(conf.LogisticModel(conf.MODELS, 30.0, {}))}


def test_llm_and_rules_reading_different_country_sets_is_doubtful_whatever_the_confidence() -> None:
    exts = [(LLM, extraction(affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN")])),
            (RULES, extraction(affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "JP")]))]
    built = build(document(), exts, models=confident_models())
    assert built.record.confidence > 0.99
    assert built.record.status == RecordStatus.QUEUED, "neither reading wins by default"
    reason = next(r for r in built.record.review_reasons if r.code == "backends_disagree")
    assert "llm says CN, US" in reason.message and "rules says JP, US" in reason.message
    assert "neither reading is taken on trust" in reason.message
    same = build(document(), [(LLM, extraction()), (RULES, extraction())], models=confident_models())
    assert same.record.status == RecordStatus.MACHINE


def test_a_doubtful_record_stays_queued_and_out_of_the_audit_frame_after_routing(store: Store) -> None:
    pid = add_paper(store, "d.pdf", [(LLM, extraction()),
                                     (RULES, extraction(affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "JP")]))])
    agree = add_paper(store, "a.pdf", [(LLM, extraction()), (RULES, extraction())])
    run_reconcile(store)
    for t in conf.TARGETS:  # a stored fit that is sure of everything
        for k in conf.BACKEND_SETS:
            conf.save_model(store, conf.LogisticModel(t, 30.0, {}, source="fit", backend_set=k))
    route(store, Settings(audit_fraction=0.0, audit_min=0))
    rec = store.get_record(pid)
    assert rec.confidence > 0.99 and rec.status == RecordStatus.QUEUED and not rec.audit
    assert any(r.code == "backends_disagree" for r in rec.review_reasons)
    assert store.get_record(agree).status == RecordStatus.MACHINE


def test_model_families_are_compared_on_what_both_backends_read() -> None:
    body_only = [ModelMention(name="BERT", family="BERT", where=Where.BODY, count=4)]
    title = [ModelMention(name="Llama", family="Llama", where=Where.TITLE)]
    exts = [(LLM, extraction(model_mentions=[])), (RULES, extraction(model_mentions=body_only))]
    built = build(document(), exts)
    assert "model_families_disagree" not in [r.code for r in built.record.review_reasons], \
        "the llm reads page 1 only: a body mention it did not read is not a disagreement"
    exts = [(LLM, extraction(model_mentions=[])), (RULES, extraction(model_mentions=body_only + title))]
    reason = next(r for r in build(document(), exts).record.review_reasons if r.code == "model_families_disagree")
    assert "in the title and abstract" in reason.message and "Llama" in reason.message and "BERT" not in reason.message


def test_each_backend_set_is_scored_by_its_own_model() -> None:
    rules_only = build(document(), [(RULES, extraction())])
    both = build(document(), [(LLM, extraction()), (RULES, extraction())])
    assert conf.backend_set_of(rules_only.signals.features) == conf.RULES_ONLY
    assert conf.backend_set_of(both.signals.features) == conf.RULES_LLM
    assert conf.backend_set_of({"single_backend": 1.0}) == conf.RULES_ONLY, "signals stored before the flags"
    models = {conf.COUNTRY: conf.ModelSet(conf.COUNTRY, {conf.RULES_ONLY: conf.LogisticModel(conf.COUNTRY, 0.0, {}),
                                                         conf.RULES_LLM: conf.LogisticModel(conf.COUNTRY, 2.0, {})})}
    assert build(document(), [(RULES, extraction())], models=models).record.confidence == pytest.approx(0.5)
    assert build(document(), [(LLM, extraction()), (RULES, extraction())], models=models).record.confidence \
        == pytest.approx(0.8808, abs=1e-4)


def test_default_priors_differ_per_backend_set_and_stay_monotone() -> None:
    for k in conf.BACKEND_SETS:
        model = conf.default_model(conf.COUNTRY, k)
        assert model.backend_set == k
        base = model.predict({})
        for name in model.names:
            assert model.predict({name: 1.0}) < base, (k, name)


def test_calibration_is_stored_per_backend_set(store: Store) -> None:
    for i in range(30):
        affs = [aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN" if i % 3 else "JP")]
        add_paper(store, f"r{i}.pdf", [(RULES, extraction(affs=affs))])
    run_reconcile(store)
    for record in list(store.iter_records()):
        wrong = "JP" in record.countries() and int(record.source_file[1:-4]) % 2 == 0
        affs = [a.model_copy(update={"country": "CN"}) if a.country == "JP" and wrong else a for a in record.affiliations]
        store.save_record(record.model_copy(update={"affiliations": affs, "status": RecordStatus.VERIFIED}),
                          expected_version=record.version, action="correct" if wrong else "approve", actor="ana")
    results = conf.calibrate(store, min_labels=20, targets=[conf.COUNTRY])
    assert [(r.backend_set, r.stored, r.n) for r in results] == [(conf.RULES_ONLY, True, 30)]
    assert conf.load_model(store, conf.COUNTRY, conf.RULES_ONLY).source == "fit"
    assert conf.load_model(store, conf.COUNTRY, conf.RULES_LLM).source == "default", "the other set keeps its prior"
    assert store.latest_calibration("country@rules") is not None


# --------------------------------------------------------------------------- rules-only signals


def front_doc(lines: list[str], author_lines: list[int], abstract_lines: list[int] = ()) -> Document:
    text, rows, pos = [], [], 0
    for i, t in enumerate(lines):
        rows.append(Line(text=t, bbox=(0, 10.0 * i, 300, 10.0 * i + 9), size=10, start=pos, end=pos + len(t)))
        text.append(t)
        pos += len(t) + 1
    front = FrontMatter(text="\n".join(text), lines=rows, author_lines=list(author_lines),
                        abstract_lines=list(abstract_lines), title="T")
    return Document(sha256="f" * 64, source_file="x.pdf", front=front, full_text=front.text)


def ev(doc: Document, value: str) -> Evidence:
    start = doc.front.text.index(value)
    return Evidence(source="front", start=start, end=start + len(value), alignment=Alignment.EXACT)


def codes(built) -> set[str]:
    return {r.code for r in built.record.review_reasons}


def test_rules_alone_flag_figure_text_unlinked_units_and_units_without_an_organisation() -> None:
    lines = ["T", "Alice Smith, Bob Jones", STANFORD, TSINGHUA, "Abstract", "We study.", "Tokyo results panel"]
    doc = front_doc(lines, author_lines=[1, 2, 3], abstract_lines=[5])
    affs = [aff(0, STANFORD, "US").model_copy(update={"evidence": ev(doc, STANFORD)}),
            aff(1, TSINGHUA, "CN").model_copy(update={"evidence": ev(doc, TSINGHUA)}),
            aff(2, "Tokyo results panel", "JP", Method.CITY).model_copy(update={"evidence": ev(doc, "Tokyo results panel")})]
    built = build(doc, [(RULES, extraction(affs=affs))])
    found = codes(built)
    assert {"affiliation_outside_author_block", "affiliation_unlinked", "affiliation_without_organisation"} <= found
    f = built.signals.features
    assert f["outside_author_block"] == f["affiliation_unlinked"] == f["unit_no_org"] == 1.0
    assert {"set": ["CN", "US"], "wild": False, "why": "affiliation_outside_author_block"} in built.signals.alternatives
    clean = build(doc, [(RULES, extraction(affs=affs[:2]))])
    assert not found & codes(clean)


def test_rules_alone_flag_one_line_split_across_countries_and_everyone_having_everything() -> None:
    line = "University of Tokyo, Japan and Stanford University, Stanford, CA, USA"
    doc = front_doc(["T", "Alice Smith, Bob Jones", line, "Abstract"], author_lines=[1, 2])
    affs = [aff(0, TOKYO, "JP").model_copy(update={"evidence": ev(doc, TOKYO)}),
            aff(1, STANFORD, "US").model_copy(update={"evidence": ev(doc, STANFORD)})]
    both = [author("Alice Smith", [0, 1]), author("Bob Jones", [0, 1])]
    built = build(doc, [(RULES, extraction(authors=both, affs=affs))])
    assert {"split_line_countries", "shared_by_all"} <= codes(built)
    assert built.signals.features["split_line_countries"] == 1.0 and built.signals.features["shared_by_all"] == 1.0
    apart = [author("Alice Smith", [0]), author("Bob Jones", [1])]
    assert not {"split_line_countries", "shared_by_all"} & codes(build(doc, [(RULES, extraction(authors=apart, affs=affs))]))


def test_rules_alone_rank_a_record_with_own_doubts_below_a_clean_one() -> None:
    clean = build(document(), [(RULES, extraction())]).record.confidence
    doubtful = build(document(), [(RULES, extraction(authors=[author("Alice Smith", [0]), author("Bob Jones", [])]))])
    assert "author_without_affiliation" in codes(doubtful)
    assert doubtful.record.confidence < clean


def test_the_rules_backends_own_facts_about_units_and_links_become_signals() -> None:
    doc = document()
    affs = [aff(0, STANFORD, "US").model_copy(update={"signals": ["figure_region"]}),
            aff(1, TSINGHUA, "CN").model_copy(update={"signals": ["inferred_email"]})]
    authors = [author("Alice Smith", [0]).model_copy(update={"link": "footnote_name"}),
               author("Bob Jones", [1]).model_copy(update={"link": "order"})]
    built = build(doc, [(RULES, extraction(authors=authors, affs=affs))])
    found = codes(built)
    assert {"affiliation_outside_author_block", "affiliation_inferred", "linked_by_name", "linked_by_fallback"} <= found
    msg = {r.code: r.message for r in built.record.review_reasons}
    assert "inferred from email" in msg["affiliation_inferred"] and "print order: Bob Jones" in msg["linked_by_fallback"]
    f = built.signals.features
    assert f["org_inferred"] == f["linked_by_name"] == f["link_fallback"] == f["outside_author_block"] == 1.0
    plain = build(doc, [(RULES, extraction(authors=[author("Alice Smith", [0]).model_copy(update={"link": "marker"}),
                                                     author("Bob Jones", [1])]))])
    assert not {"affiliation_inferred", "linked_by_name", "linked_by_fallback"} & codes(plain)


def test_a_kept_inference_that_changes_the_set_is_doubtful_a_kept_stated_country_is_not() -> None:
    from tests.test_reconcile_fixtures import MSR

    both = [author("Alice Smith", [0]), author("Bob Jones", [1])]
    affs = [aff(0, MSR, "US", Method.HQ_DEFAULT), aff(1, TSINGHUA, "CN")]
    inferred = ["affiliation 0: the LLM said IN, the text says US (hq_default); kept US"]
    built = build(document(), [(LLM, extraction(both, affs, warnings=inferred)), (RULES, extraction(both, affs))],
                  models=confident_models())
    assert built.signals.doubts == ["llm_overruled"] and built.record.status == RecordStatus.QUEUED
    assert "the LLM read IN" in next(r.message for r in built.record.review_reasons if r.code == "llm_overruled")
    affs = [aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN")]
    stated = ["affiliation 0: the LLM said JP, the text says US (stated); kept US"]
    kept = build(document(), [(LLM, extraction(both, affs, warnings=stated)), (RULES, extraction(both, affs))],
                 models=confident_models())
    assert not kept.signals.doubts and kept.record.status == RecordStatus.MACHINE


def test_one_unit_naming_organisations_in_two_countries_is_a_doubt_with_each_reading_as_an_alternative() -> None:
    unit = "Kyoto University & Microsoft Research"
    text = "\n".join(["A Study of Things", "Alice Smith, Bob Jones", unit, TSINGHUA, "Abstract", "We study things."])
    doc = document(text=text)
    affs = [aff(0, unit, "JP", Method.GAZETTEER_EXACT, "Kyoto University"), aff(1, TSINGHUA, "CN")]
    for exts in ([(RULES, extraction(affs=affs))], [(LLM, extraction(affs=affs)), (RULES, extraction(affs=affs))]):
        built = build(doc, exts)
        reason = next(r for r in built.record.review_reasons if r.code == "unit_several_countries")
        assert "JP, US" in reason.message and "counts JP" in reason.message
        assert built.signals.features["unit_several_countries"] == 1.0
        alternatives = [a["set"] for a in built.signals.alternatives if a["why"] == "unit_several_countries"]
        assert alternatives == [["CN", "JP"], ["CN", "US"], ["CN", "JP", "US"]]
    assert "unit_several_countries" not in codes(build(document(), [(RULES, extraction())]))


@pytest.mark.parametrize(("unit", "countries"), [
    ("Kyoto University; Microsoft Research", {"JP", "US"}),
    ("Kyoto University (Japan) / ETH Zurich (Switzerland)", {"JP", "CH"}),
    ("Kyoto University and Microsoft Research, Japan", set()),  # one printed country settles the unit
    ("University of Science and Technology of China", set()),  # "University of Science" is a piece of the name
    ("Department of Computer Science and Engineering, Seoul National University", {"KR"}),
])
def test_the_organisations_of_a_unit_are_read_part_by_part(unit: str, countries: set[str]) -> None:
    from extractor.reconcile.signals import organisations_of_unit
    from extractor.resolve import get_resolver

    assert set(organisations_of_unit(unit, get_resolver()).values()) == countries
