"""Review actions as library functions (extractor.review.actions): claims and leases, every
decision, undo, optimistic locking, rebasing a refused edit, the double-review sample.

Each test asserts the database afterwards: record status/content/version, the audit log
row (who, what, before, after) and that the hash-chained log still verifies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from extractor.errors import ConflictError
from extractor.review import actions as review
from extractor.review import double as review_double
from extractor.review.common import ReviewError
from extractor.schemas import Method, PaperContent, RecordStatus
from extractor.store import Store
from tests.review_fixtures import build, copy_db


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("review-template")
    return root / "t.db", build(root / "t.db", root / "pdfs")


@pytest.fixture
def db(template, tmp_path: Path) -> tuple[Store, dict[str, str]]:
    path, ids = template
    store = Store.open(copy_db(path, tmp_path / "r.db"))
    yield store, ids
    store.close()


def last_log(store: Store, paper_id: str) -> dict:
    return store.log_rows(paper_id=paper_id, with_content=True)[-1]


def test_serve_claims_in_priority_order_and_never_twice(db) -> None:
    store, ids = db
    a = review.serve_next(store, "alice")
    b = review.serve_next(store, "bob")
    assert a.paper_id == ids["munich"] and b.paper_id == ids["cambridge"]
    assert a.status == RecordStatus.IN_REVIEW and a.provenance.reviewer == "alice"
    assert store.get_claim(a.paper_id)["reviewer"] == "alice"
    assert review.serve_next(store, "alice").paper_id == a.paper_id  # resume, not a new one
    assert review.claim(store, a.paper_id, "bob") is None  # held by alice
    assert last_log(store, a.paper_id)["action"] == "claim"
    assert store.verify_log() == []


def test_expired_lease_returns_record_to_queue(db) -> None:
    store, ids = db
    a = review.serve_next(store, "alice", lease_seconds=60)
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert review.expire_claims(store, now=later) == [a.paper_id]
    rec = store.get_record(a.paper_id)
    assert rec.status == RecordStatus.QUEUED and rec.provenance.reviewer is None
    assert last_log(store, a.paper_id)["actor"] == review.SYSTEM_LEASE
    assert review.serve_next(store, "bob").paper_id == a.paper_id


def test_approve_verifies_and_logs(db) -> None:
    store, ids = db
    a = review.serve_next(store, "alice")
    new = review.approve(store, a.paper_id, "alice", expected_version=a.version)
    assert new.status == RecordStatus.VERIFIED and new.version == a.version + 1
    assert new.provenance.reviewer == "alice" and new.provenance.reviewed_at
    row = last_log(store, a.paper_id)
    assert (row["action"], row["actor"], row["status_after"]) == ("approve", "alice", "verified")
    assert row["before"] == row["after"]
    assert store.get_claim(a.paper_id) is None
    assert store.verify_log() == []


def test_correct_marks_changes_human(db) -> None:
    store, ids = db
    a = review.serve_next(store, "alice")
    fixed = review.set_country(a.content(), 0, "DE")
    new = review.correct(store, a.paper_id, fixed, "alice", expected_version=a.version)
    aff = new.affiliations[0]
    assert (aff.country, aff.country_method) == ("DE", Method.HUMAN)
    assert new.status == RecordStatus.VERIFIED
    row = last_log(store, a.paper_id)
    assert row["action"] == "correct"
    assert json.loads(row["before"])["affiliations"][0]["country"] == "FR"
    assert json.loads(row["after"])["affiliations"][0]["country"] == "DE"
    assert "country: 'FR' -> 'DE'" in row["note"]


def test_correct_without_changes_is_an_approval(db) -> None:
    store, ids = db
    a = review.serve_next(store, "alice")
    review.correct(store, a.paper_id, a.content(), "alice", expected_version=a.version)
    assert last_log(store, a.paper_id)["action"] == "approve"


def test_stale_version_is_refused_and_nothing_overwritten(db) -> None:
    store, ids = db
    a = review.serve_next(store, "alice")
    review.correct(store, a.paper_id, review.set_country(a.content(), 0, "DE"), "bob", expected_version=a.version)
    with pytest.raises(ConflictError, match="changed by someone else"):
        review.correct(store, a.paper_id, review.set_country(a.content(), 0, "AT"), "alice",
                       expected_version=a.version)
    with pytest.raises(ConflictError):
        review.approve(store, a.paper_id, "alice", expected_version=a.version)
    assert store.get_record(a.paper_id).affiliations[0].country == "DE"
    assert [r["actor"] for r in store.log_rows(paper_id=a.paper_id)][-1] == "bob"


def test_reject_skip_flag(db) -> None:
    store, ids = db
    a = review.serve_next(store, "alice")
    rej = review.reject(store, a.paper_id, "alice", expected_version=a.version, reason="out_of_scope", note="a poster")
    assert rej.status == RecordStatus.REJECTED
    assert rej.provenance.model_extra["rejected_because"] == "out_of_scope"
    assert last_log(store, a.paper_id)["note"] == "out_of_scope: a poster"
    with pytest.raises(ReviewError, match="unknown reject reason"):
        review.reject(store, ids["cambridge"], "alice", expected_version=1, reason="boring")

    b = review.serve_next(store, "alice")
    skipped = review.skip(store, b.paper_id, "alice")
    assert skipped.status == RecordStatus.QUEUED and store.get_claim(b.paper_id) is None
    assert last_log(store, b.paper_id)["action"] == "skip"
    c = review.serve_next(store, "alice", skip_ids={b.paper_id})
    assert c.paper_id != b.paper_id

    flagged = review.flag(store, c.paper_id, "alice", expected_version=c.version, note="is this CN?")
    assert flagged.status == RecordStatus.QUEUED
    assert flagged.review_reasons[-1].code == "second_opinion"
    assert "is this CN?" in flagged.review_reasons[-1].message
    assert store.verify_log() == []


def test_undo_restores_the_last_change(db) -> None:
    store, ids = db
    a = review.serve_next(store, "alice")
    review.correct(store, a.paper_id, review.set_country(a.content(), 0, "DE"), "alice", expected_version=a.version)
    undone = review.undo_last(store, "alice")
    assert undone.paper_id == a.paper_id
    assert undone.status == RecordStatus.IN_REVIEW and undone.affiliations[0].country == "FR"
    assert store.get_claim(a.paper_id)["reviewer"] == "alice"
    row = last_log(store, a.paper_id)
    assert row["action"] == "undo" and row["note"].startswith("undo #")
    # the next undo goes further back (the claim is not undoable): nothing left
    with pytest.raises(ReviewError, match="nothing"):
        review.undo_last(store, "alice")
    assert store.verify_log() == []


def test_undo_never_reverts_someone_elses_later_work(db) -> None:
    store, ids = db
    a = review.serve_next(store, "alice")
    new = review.approve(store, a.paper_id, "alice", expected_version=a.version)
    review.correct(store, a.paper_id, review.set_country(new.content(), 0, "DE"), "bob", expected_version=new.version)
    with pytest.raises(ConflictError):
        review.undo_last(store, "alice")
    assert store.get_record(a.paper_id).affiliations[0].country == "DE"


def test_undo_flag_removes_the_reason(db) -> None:
    store, ids = db
    a = review.serve_next(store, "alice")
    review.flag(store, a.paper_id, "alice", expected_version=a.version)
    back = review.undo_last(store, "alice")
    assert all(r.code != "second_opinion" for r in back.review_reasons)


def test_reviewer_name_is_required(db) -> None:
    store, ids = db
    for name in ("", "  ", "machine", "system:x"):
        with pytest.raises(ReviewError):
            review.serve_next(store, name)


def test_rebase_keeps_both_peoples_edits(db) -> None:
    store, ids = db
    base = store.get_record(ids["munich"]).content()
    mine = review.set_country(base, 0, "DE")
    theirs = base.model_copy(update={"title": "Sparse Attention for Long Documents (v2)"})
    merged, conflicts = review.rebase_edits(base, mine, theirs)
    assert merged.affiliations[0].country == "DE" and merged.title.endswith("(v2)")
    assert conflicts == []
    theirs2 = review.set_country(base, 0, "AT")
    merged, conflicts = review.rebase_edits(base, mine, theirs2)
    assert merged.affiliations[0].country == "DE" and conflicts == ["affiliation 0 country"]


def test_double_review_and_kappa(db) -> None:
    from extractor.review import stats as review_stats

    store, ids = db
    a = review.serve_next(store, "alice")
    review.correct(store, a.paper_id, review.set_country(a.content(), 0, "DE"), "alice",
                   expected_version=a.version, double_fraction=1.0)
    b = review.serve_next(store, "alice")
    review.approve(store, b.paper_id, "alice", expected_version=b.version, double_fraction=1.0)
    assert review_double.next_second_review(store, "alice") is None  # never your own
    task = review_double.next_second_review(store, "bob")
    assert task.paper_id == a.paper_id
    assert task.machine.affiliations[0].country == "FR"  # blind: the machine's version
    out = review_double.submit_second_review(store, a.paper_id, "bob", "correct", review.set_country(task.machine, 0, "DE"))
    assert out == {"agree": True, "first": "DE", "second": "DE"}
    out = review_double.submit_second_review(store, b.paper_id, "bob", "reject")
    assert out["agree"] is False
    rec = store.get_record(b.paper_id)
    assert rec.status == RecordStatus.QUEUED and rec.review_reasons[-1].code == "reviewers_disagree"
    with pytest.raises(ReviewError, match="already"):
        review_double.submit_second_review(store, a.paper_id, "carol", "approve")
    stats = review_stats.double_review_agreement(store)
    assert stats["completed"] == 2 and stats["country_set"]["n"] == 2
    assert stats["country_set"]["observed"] == 0.5
    assert store.verify_log() == []


def test_cohen_kappa_known_values() -> None:
    from extractor.review.stats import cohen_kappa

    assert cohen_kappa([])["kappa"] is None
    assert cohen_kappa([("a", "a"), ("b", "b")])["kappa"] == 1.0
    # classic 2x2 example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa 0.4
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs)["kappa"] == pytest.approx(0.4)


def test_throughput_and_machine_agreement(db) -> None:
    from extractor.review import stats as review_stats

    store, ids = db
    a = review.serve_next(store, "alice", audit=False)
    review.approve(store, a.paper_id, "alice", expected_version=a.version)
    b = review.serve_next(store, "alice")
    review.correct(store, b.paper_id, review.set_country(b.content(), 0, "US"), "alice", expected_version=b.version)
    rows = [
        {"actor": "alice", "action": "claim", "at": "2025-01-01T10:00:00+00:00"},
        {"actor": "alice", "action": "approve", "at": "2025-01-01T10:00:10+00:00"},
        {"actor": "alice", "action": "approve", "at": "2025-01-01T10:00:30+00:00"},
        {"actor": "alice", "action": "approve", "at": "2025-01-01T11:00:00+00:00"},  # after a break
        {"actor": "alice", "action": "correct", "at": "2025-01-01T11:00:30+00:00"},
    ]
    tp = review_stats.throughput(store, rows=rows)
    assert tp["decisions"] == 4 and tp["active_hours"] == pytest.approx(60 / 3600, abs=1e-3)
    assert tp["per_hour"] == pytest.approx(240.0, rel=0.01)
    mh = review_stats.machine_human_agreement(store)
    assert mh["queued"]["records"] == 2
    assert mh["queued"]["country_set"]["k"] == 1 and mh["queued"]["country_set"]["n"] == 2
    assert mh["top_corrections"] == [{"machine": "GB", "human": "US", "count": 1}]


def test_content_changes_are_readable(db) -> None:
    store, ids = db
    base = store.get_record(ids["munich"]).content()
    edited = PaperContent.model_validate({**base.model_dump(), "authors": list(reversed(base.model_dump()["authors"]))})
    assert review.content_changes(base, edited) == ["authors: ['Anna Schmidt', 'Li Wei'] -> ['Li Wei', 'Anna Schmidt']"]
