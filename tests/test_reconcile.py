"""Reconcile: every signal becomes a reason a reviewer can read; merge; idempotency; people win."""

from __future__ import annotations

import pytest

from extractor.reconcile import merge as reconcile
from extractor.reconcile.merge import build, run_reconcile
from extractor.schemas import Method, RecordStatus, paper_id_for
from extractor.store import Store
from tests import sqlhelp
from tests.test_reconcile_fixtures import (
    ACME,
    FRONT_TEXT,
    LLM,
    MSR,
    OXFORD,
    PEKING,
    RULES,
    STANFORD,
    TOKYO,
    TSINGHUA,
    ZORBLAX,
    add_paper,
    aff,
    author,
    document,
    extraction,
    families,
)

AB = [author("Alice Smith", [0]), author("Bob Jones", [1])]


def two(llm_affs=None, rules_affs=None, llm_authors=None, rules_authors=None, **llm_kw):
    """(llm, rules) extractions; defaults agree on Stanford (US) + Tsinghua (CN)."""
    return [(LLM, extraction(llm_authors, llm_affs, **llm_kw)), (RULES, extraction(rules_authors, rules_affs))]


CASES = {
    "backends-disagree": (two(rules_affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "JP")]), "backends_disagree", "disagree"),
    "author-affiliations-disagree-same-set": (
        two(rules_authors=[author("Alice Smith", [1]), author("Bob Jones", [0])]),
        "author_affiliations_disagree", "author_disagree_same_set"),
    "author-affiliations-disagree-set-changes": (
        two(rules_affs=[aff(0, STANFORD, "US"), aff(1, TOKYO, "JP")]),
        "author_affiliations_disagree", "author_disagree"),
    "country-withheld": (
        two(llm_affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN"), aff(2, "Imaginary College, Paris, France", "FR")],
            llm_authors=[author("Alice Smith", [0, 2]), author("Bob Jones", [1])]),
        "country_withheld", "withheld"),
    "ungrounded": (
        two(llm_affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN"), aff(2, "Imaginary College, Paris, France", "FR")],
            llm_authors=[author("Alice Smith", [0, 2]), author("Bob Jones", [1])]),
        "ungrounded", "ungrounded"),
    "country-inferred-city": (
        two(llm_affs=[aff(0, ACME, "US", Method.CITY), aff(1, TSINGHUA, "CN")],
            rules_affs=[aff(0, ACME, "US", Method.CITY), aff(1, TSINGHUA, "CN")]),
        "country_inferred", "inferred_weak"),
    "country-inferred-email": (
        [(LLM, extraction(affs=[aff(0, "Acme Widgets Lab", "US", Method.EMAIL_DOMAIN), aff(1, TSINGHUA, "CN")]))],
        "country_inferred", "inferred_weak"),
    "country-llm-only": (
        [(LLM, extraction(affs=[aff(0, "Acme Widgets Lab", "FR", Method.LLM), aff(1, TSINGHUA, "CN")]))],
        "country_llm_only", "llm_only"),
    "multi-country-company-without-site": (
        two(llm_affs=[aff(0, MSR, "US", Method.HQ_DEFAULT), aff(1, TSINGHUA, "CN")],
            rules_affs=[aff(0, MSR, "US", Method.HQ_DEFAULT), aff(1, TSINGHUA, "CN")]),
        "company_no_site", "hq_default"),
    "email-contradicts-affiliation": (
        two(llm_affs=[aff(0, OXFORD, "GB", Method.GAZETTEER_EXACT), aff(1, TSINGHUA, "CN")],
            rules_affs=[aff(0, OXFORD, "GB", Method.GAZETTEER_EXACT), aff(1, TSINGHUA, "CN")],
            llm_authors=[author("Alice Smith", [0], "alice@tsinghua.edu.cn"), author("Bob Jones", [1])]),
        "email_country_conflict", "email_conflict"),
    "institution-not-in-gazetteer": (
        two(llm_affs=[aff(0, ZORBLAX, "DE"), aff(1, TSINGHUA, "CN")], rules_affs=[aff(0, ZORBLAX, "DE"), aff(1, TSINGHUA, "CN")]),
        "institution_unmatched", "unmatched"),
    "author-count-mismatch": (
        two(rules_authors=[author("Alice Smith", [0]), author("Bob Jones", [1]), author("Carol King", [1])]),
        "author_count_mismatch", "author_count_mismatch"),
    "validation-reasks": (
        [(LLM.model_copy(update={"reasks": 2}), extraction()), (RULES, extraction())], "reasked", "reasked"),
    "llm-unsure": (two(self_confidence=0.3), "llm_unsure", "llm_unsure"),
    "country-contradicts-text": (
        [(LLM, extraction(affs=[aff(0, STANFORD, "CN", Method.LLM), aff(1, TSINGHUA, "CN")]))],
        "country_conflict", "conflict"),
    "country-corrected-by-second-opinion": (
        two(llm_affs=[aff(0, STANFORD, "CN", Method.LLM), aff(1, TSINGHUA, "CN")]), "country_corrected", "corrected"),
    "affiliation-added-from-second-opinion": (
        two(rules_affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN"), aff(2, TOKYO, "JP")],
            rules_authors=[author("Alice Smith", [0]), author("Bob Jones", [1, 2])]),
        "affiliation_added", "added"),
    "affiliation-missing": (
        two(rules_affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN"), aff(2, TOKYO, "JP")],
            rules_authors=[author("Alice Smith", [0]), author("Bob Jones", [1]), author("Carol King", [2])]),
        "affiliation_missing", "missing"),
    "affiliation-missing-unknown-country": (
        two(rules_affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN"), aff(2, ACME, None, Method.UNKNOWN)],
            rules_authors=[author("Alice Smith", [0]), author("Bob Jones", [1, 2])]),
        "affiliation_missing", "missing_unknown"),
    "country-unknown": (two(llm_affs=[aff(0, STANFORD, "US"), aff(1, "Somewhere Lab", None)]), "country_unknown", "country_unknown"),
    "no-affiliations": ([(LLM, extraction(authors=[author("Alice Smith", [])], affs=[]))], "no_affiliations", "no_affiliations"),
    "llm-overruled": (
        two(llm_affs=[aff(0, MSR, "US", Method.HQ_DEFAULT), aff(1, TSINGHUA, "CN")],
            rules_affs=[aff(0, MSR, "US", Method.HQ_DEFAULT), aff(1, TSINGHUA, "CN")],
            warnings=["affiliation 0: the LLM said IN, the text says US (hq_default); kept US"]),
        "llm_overruled", "llm_overruled"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_signal_is_a_reason_and_a_feature(case: str) -> None:
    extractions, code, feature = CASES[case]
    built = build(document(), extractions)
    codes = [r.code for r in built.record.review_reasons]
    assert code in codes, codes
    reason = next(r for r in built.record.review_reasons if r.code == code)
    assert len(reason.message) > 15, reason.message
    assert built.signals.features.get(feature, 0) > 0, built.signals.features
    assert len(codes) == len(set(codes)), "one reason per code"
    clean = build(document(), two()).record.confidence
    assert built.record.confidence < clean, "every signal lowers P(country set right)"


def test_clean_agreeing_record_has_no_reasons_and_is_confident() -> None:
    built = build(document(), two())
    assert built.record.review_reasons == []
    assert built.record.status == RecordStatus.MACHINE
    assert built.record.confidence >= 0.95
    assert built.record.countries() == ["CN", "US"]


def test_model_family_disagreement_is_its_own_confidence() -> None:
    agree = two(model_mentions=families("Llama"))
    agree[1] = (RULES, extraction(model_mentions=families("Llama")))
    same = build(document(), agree)
    exts = two(model_mentions=families("Llama"))
    exts[1] = (RULES, extraction(model_mentions=families("BERT")))
    differ = build(document(), exts)
    assert "model_families_disagree" in [r.code for r in differ.record.review_reasons]
    assert differ.record.model_confidence < same.record.model_confidence
    assert differ.record.confidence == pytest.approx(same.record.confidence), "country confidence untouched"


def test_merge_corrects_stated_country_and_adds_missed_affiliation() -> None:
    exts = two(llm_affs=[aff(0, STANFORD, "CN", Method.LLM), aff(1, TSINGHUA, "CN")],
               rules_affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN"), aff(2, TOKYO, "JP")],
               rules_authors=[author("Alice Smith", [0]), author("Bob Jones", [1, 2])])
    record = build(document(), exts).record
    assert record.countries() == ["CN", "JP", "US"]
    bob = next(a for a in record.authors if a.name == "Bob Jones")
    assert len(bob.affiliation_ids) == 2
    assert record.provenance.backend == "llm+rules"


def test_no_merge_without_a_second_opinion() -> None:
    record = build(document(), [(LLM, extraction(affs=[aff(0, STANFORD, "CN", Method.LLM), aff(1, TSINGHUA, "CN")]))]).record
    assert record.countries() == ["CN"], "one reading against the text is flagged, not silently changed"


def test_doubt_between_two_chinese_universities_names_no_country_alternative() -> None:
    exts = two(rules_affs=[aff(0, STANFORD, "US"), aff(1, PEKING, "CN")])
    built = build(document(), exts)
    assert all(set(a["set"]) == {"CN", "US"} or a["wild"] for a in built.signals.alternatives)


def test_queued_records_always_list_a_reason() -> None:
    built = build(document(), two(), confidence_threshold=0.999)
    assert built.record.status == RecordStatus.QUEUED
    assert [r.code for r in built.record.review_reasons] == ["low_confidence"]


# --------------------------------------------------------------------------- run_reconcile


def test_run_is_idempotent_and_keeps_the_pipeline_contract(store: Store) -> None:
    pid = add_paper(store, "a.pdf", two(rules_affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "JP")]))
    add_paper(store, "b.pdf", two())
    first = run_reconcile(store, confidence_threshold=0.9)
    assert isinstance(first, reconcile.ReconcileSummary)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert first.queued >= 1 and first.route["routed"] == 2
    log_rows = store.log_head()[0]
    second = run_reconcile(store, confidence_threshold=0.9)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert store.log_head()[0] == log_rows, "nothing rewritten"
    assert store.get_record(pid).status == RecordStatus.QUEUED
    assert store.verify_log() == []


def test_human_touched_records_and_their_signals_are_never_overwritten(store: Store) -> None:
    pid = add_paper(store, "a.pdf", two(rules_affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "JP")]))
    run_reconcile(store)
    record = store.get_record(pid)
    verified = record.model_copy(update={"status": RecordStatus.VERIFIED})
    store.save_record(verified, expected_version=record.version, action="approve", actor="ana")
    signals_before = sqlhelp.rows(store, "SELECT features, input_key FROM review_signals WHERE paper_id = ?", [pid])
    store.save_extraction(record.sha256, RULES, "rules|v2", extraction())  # a newer rules answer
    summary = run_reconcile(store)
    assert summary.kept_human == 1
    after = store.get_record(pid)
    assert after.status == RecordStatus.VERIFIED and after.version == record.version + 1
    assert sqlhelp.rows(store, "SELECT features, input_key FROM review_signals WHERE paper_id = ?", [pid]) == signals_before
    assert signals_before


def test_a_record_without_a_signals_row_gets_one_on_the_next_reconcile(store: Store) -> None:
    pid = add_paper(store, "a.pdf", two(rules_affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "JP")]))
    run_reconcile(store)
    sqlhelp.execute(store, "DELETE FROM review_signals")
    summary = run_reconcile(store)
    assert summary.unchanged == 1
    row = sqlhelp.rows(store, "SELECT features FROM review_signals WHERE paper_id = ?", [pid])
    assert row and "disagree" in row[0]["features"]
    assert store.verify_log() == []


def test_a_batch_reads_only_its_own_documents_and_routes_the_same_as_a_full_pass(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(40):  # a batch below the share of new records that refreshes routing's country prior
        add_paper(store, f"old{i}.pdf", two(rules_affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "JP" if i % 2 else "CN")]))
    run_reconcile(store, confidence_threshold=0.9)
    new = [add_paper(store, f"new{i}.pdf", two()) for i in range(2)]
    read: list[str] = []
    original = Store.extractions_for

    def counting(self: Store, sha256: str, **kw):  # type: ignore[no-untyped-def]
        read.append(sha256)
        return original(self, sha256, **kw)

    monkeypatch.setattr(Store, "extractions_for", counting)
    summary = run_reconcile(store, confidence_threshold=0.9)
    assert (summary.created, summary.updated, summary.unchanged) == (2, 0, 40)
    assert sorted(paper_id_for(s) for s in read) == sorted(new), "only the new batch was read"
    assert summary.route["incremental"]
    incremental = {r.paper_id: (r.status, r.audit, r.confidence, r.priority) for r in store.iter_records()}
    sqlhelp.execute(store, "DELETE FROM review_meta")  # forget the watermarks: the next pass is a full one
    monkeypatch.setattr(Store, "extractions_for", original)
    full = run_reconcile(store, confidence_threshold=0.9)
    assert (full.created, full.updated, full.unchanged) == (0, 0, 42)
    assert {r.paper_id: (r.status, r.audit, r.confidence, r.priority) for r in store.iter_records()} == incremental


def test_a_replaced_newest_extraction_is_seen(store: Store) -> None:
    add_paper(store, "a.pdf", two())
    pid = add_paper(store, "b.pdf", two())
    run_reconcile(store)
    before = store.get_record(pid)
    top = sqlhelp.rows(store, "SELECT max(id) AS id FROM extractions")[0]["id"]
    # the newest row is replaced (same backend and cache key): the new row gets a higher id
    store.save_extraction(before.sha256, RULES, "rules|test", extraction(affs=[aff(0, STANFORD, "US"), aff(1, TOKYO, "JP")]))
    assert sqlhelp.rows(store, "SELECT max(id) AS id FROM extractions")[0]["id"] > top
    summary = run_reconcile(store)
    assert summary.updated == 1
    assert "JP" in store.get_record(pid).countries()


def test_documents_without_extractions_are_counted(store: Store) -> None:
    store.add_document(document("lonely.pdf"))
    assert run_reconcile(store).no_extraction == 1
    assert paper_id_for(document("lonely.pdf").sha256) not in {r.paper_id for r in store.iter_records()}


def test_ungrounded_country_is_not_counted_and_is_an_alternative() -> None:
    imaginary = "Imaginary College, Paris, France"
    exts = two(llm_affs=[aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN"), aff(2, imaginary, "FR", Method.LLM)],
               llm_authors=[author("Alice Smith", [0, 2]), author("Bob Jones", [1])])
    built = build(document(), exts)
    record = built.record
    assert record.countries() == ["CN", "US"], "a country nothing printed supports is not counted"
    kept = next(a for a in record.affiliations if a.raw == imaginary)
    assert kept.country is None and 2 in record.authors[0].affiliation_ids, "the affiliation and its link stay"
    codes = [r.code for r in record.review_reasons]
    assert "country_withheld" in codes and "country_unknown" not in codes
    assert {"set": ["CN", "FR", "US"], "wild": False, "why": "country_withheld"} in built.signals.alternatives


def test_ungrounded_affiliation_another_backend_reads_from_the_page_keeps_its_country() -> None:
    text = FRONT_TEXT + "\nInstitut Pasteur, Paris, France"
    paraphrase = "Pasteur Institute Paris France (Department of Everything Else Entirely)"
    exts = [(LLM, extraction([author("Alice Smith", [0, 2]), author("Bob Jones", [1])],
                             [aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN"), aff(2, paraphrase, "FR", institution="Institut Pasteur")])),
            (RULES, extraction([author("Alice Smith", [0, 2]), author("Bob Jones", [1])],
                               [aff(0, STANFORD, "US"), aff(1, TSINGHUA, "CN"),
                                aff(2, "Institut Pasteur, Paris, France", "FR", institution="Institut Pasteur")]))]
    record = build(document(text=text), exts).record
    assert record.countries() == ["CN", "FR", "US"]
    assert "country_withheld" not in [r.code for r in record.review_reasons]


def test_author_disagreement_weighs_by_whether_the_paper_set_changes() -> None:
    same = build(document(), two(rules_authors=[author("Alice Smith", [1]), author("Bob Jones", [0])]))
    moves = build(document(), two(rules_affs=[aff(0, STANFORD, "US"), aff(1, TOKYO, "JP")]))
    assert "author_disagree" not in same.signals.features and same.signals.features["author_disagree_same_set"] == 1.0
    assert moves.signals.features["author_disagree"] == 1.0
    assert {"set": ["JP", "US"], "wild": False, "why": "authors:rules"} in moves.signals.alternatives
    assert moves.record.confidence < same.record.confidence


def test_llm_overrules_are_read_as_structured_values_and_combined() -> None:
    from types import SimpleNamespace

    from extractor.reconcile.signals import Overrule, overrules

    structured = SimpleNamespace(warnings=[], country_overrules=[
        {"affiliation_id": 0, "llm": "IN", "kept": "US", "method": "hq_default"}])
    assert overrules(structured) == [Overrule(0, "IN", "US", "hq_default")]
    # two affiliations the model places in CN: only together do they change the set
    affs = [aff(0, STANFORD, "US"), aff(1, MSR, "US", Method.HQ_DEFAULT), aff(2, TSINGHUA, "CN")]
    warn = ["affiliation 0: the LLM said CN, the text says US (stated); kept US",
            "affiliation 1: the LLM said CN, the text says US (hq_default); kept US"]
    exts = [(LLM, extraction(AB, affs, warnings=warn)), (RULES, extraction(AB, affs))]
    built = build(document(), exts)
    assert {"set": ["CN"], "wild": False, "why": "llm_overruled"} in built.signals.alternatives
    assert built.signals.features.get("llm_overruled") == 1.0
    one = build(document(), [(LLM, extraction(AB, affs, warnings=warn[1:])), (RULES, extraction(AB, affs))])
    reason = next(r for r in one.record.review_reasons if r.code == "llm_overruled")
    assert "same either way" in reason.message
    assert "llm_overruled" not in one.signals.features, "an overrule that cannot change the set does not count"
