"""The record page driven by Streamlit's AppTest: every action, asserting the database.

The app runs in-process on a private copy of a fixture database (tests/review_fixtures):
five queued papers in priority order munich > cambridge > tsinghua > eth > toronto.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from extractor.review import actions as review
from extractor.schemas import Method, RecordStatus
from extractor.store import Store
from tests.review_fixtures import HOSTILE_TITLE, build, copy_db

APP = str(Path(__file__).resolve().parents[1] / "review_ui" / "app.py")
RECORD = "views/record.py"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("ui-template")
    return root / "t.db", build(root / "t.db", root / "pdfs")


@pytest.fixture
def env(template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str]]:
    path, ids = template
    db = copy_db(path, tmp_path / "ui.db")
    monkeypatch.setenv("COLLABSCOPE_DB", str(db))
    monkeypatch.setenv("COLLABSCOPE_DOUBLE_REVIEW", "0")
    return db, ids


def open_record(reviewer: str = "alice", paper: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["reviewer"] = reviewer
    if paper:
        at.query_params["paper"] = paper
    at.run()
    at.switch_page(RECORD).run()
    assert not at.exception, at.exception
    return at


def status_line(at: AppTest) -> str:
    return next(t.value for t in at.text if " · version " in t.value)


def tab(at: AppTest, label: str) -> None:
    """Show one of the record's views (only the one shown is built)."""
    at.session_state["record_tab"] = label
    at.run()
    assert not at.exception, at.exception


def record(db: Path, pid: str):
    with Store.open(db) as s:
        return s.get_record(pid)


def log(db: Path, pid: str) -> list[dict]:
    with Store.open(db) as s:
        return s.log_rows(paper_id=pid, with_content=True)


def test_record_page_serves_and_claims_the_top_record(env) -> None:
    db, ids = env
    at = open_record()
    assert status_line(at).startswith(ids["munich"])
    rec = record(db, ids["munich"])
    assert rec.status == RecordStatus.IN_REVIEW and rec.provenance.reviewer == "alice"
    # reasons at the top, the quick fix for the flagged affiliation, the page image
    assert any("country inferred" in t.value for t in at.text)
    assert at.text_input(key=f"qf-{ids['munich']}-0").value == "FR"
    assert len(at.image) == 2  # the page, and the flagged affiliation's crop beside its country field


def test_approve_then_next(env) -> None:
    db, ids = env
    at = open_record()
    at.button(key="approve").click().run()
    assert not at.exception
    assert record(db, ids["munich"]).status == RecordStatus.VERIFIED
    assert log(db, ids["munich"])[-1]["action"] == "approve"
    assert status_line(at).startswith(ids["cambridge"])
    assert record(db, ids["cambridge"]).status == RecordStatus.IN_REVIEW
    assert "Approved" in at.success[0].value


def test_quick_fix_country_saves_and_moves_on(env) -> None:
    db, ids = env
    at = open_record()
    at.text_input(key=f"qf-{ids['munich']}-0").set_value("DE").run()
    rec = record(db, ids["munich"])
    assert rec.status == RecordStatus.VERIFIED
    assert (rec.affiliations[0].country, rec.affiliations[0].country_method) == ("DE", Method.HUMAN)
    row = log(db, ids["munich"])[-1]
    assert row["action"] == "correct" and row["actor"] == "alice"
    assert json.loads(row["before"])["affiliations"][0]["country"] == "FR"
    assert status_line(at).startswith(ids["cambridge"])


def test_correct_in_the_editor(env) -> None:
    db, ids = env
    at = open_record()
    pid = ids["munich"]
    tab(at, "Affiliations")
    at.text_input(key=f"ed-{pid}-af-0-inst").set_value("TU Munich").run()
    at.text_input(key=f"ed-{pid}-af-0-country").set_value("DE").run()
    at.selectbox(key=f"ed-{pid}-af-0-sector").set_value("government").run()
    tab(at, "Authors")  # edits on the other tab stay in the draft
    at.button(key=f"ed-{pid}-au-0-down").click().run()  # reorder authors
    at.button(key=f"ed-{pid}-addau").click().run()
    at.text_input(key=f"ed-{pid}-au-2-name").set_value("New Person").run()
    at.multiselect(key=f"ed-{pid}-au-2-affs").set_value([0]).run()
    tab(at, "Title & models")
    at.text_input(key=f"ed-{pid}-mm-0-family").set_value("RoBERTa").run()
    assert record(db, pid).status == RecordStatus.IN_REVIEW  # nothing saved yet
    assert at.button(key="approve").label == "Save & next"
    at.button(key="save").click().run()
    assert not at.exception
    rec = record(db, pid)
    assert rec.status == RecordStatus.VERIFIED
    aff = rec.affiliations[0]
    assert (aff.institution, aff.country, aff.sector.value) == ("TU Munich", "DE", "government")
    assert aff.institution_method == Method.HUMAN
    assert [a.name for a in rec.authors] == ["Li Wei", "Anna Schmidt", "New Person"]
    assert rec.authors[2].affiliation_ids == [0]
    assert rec.model_mentions[0].family == "RoBERTa"
    assert log(db, pid)[-1]["action"] == "correct"
    assert status_line(at).startswith(ids["cambridge"])


def test_remove_and_add_affiliation(env) -> None:
    db, ids = env
    at = open_record()
    pid = ids["munich"]
    tab(at, "Affiliations")
    at.text_input(key=f"ed-{pid}-newaff").set_value("Max Planck Institute, Tübingen, Germany").run()
    at.button(key=f"ed-{pid}-addaff").click().run()
    at.button(key=f"ed-{pid}-af-0-rm").click().run()
    at.text_input(key=f"ed-{pid}-af-1-country").set_value("DE").run()
    tab(at, "Authors")
    at.multiselect(key=f"ed-{pid}-au-0-affs").set_value([1]).run()
    at.button(key="approve").click().run()  # A saves pending edits
    rec = record(db, pid)
    assert [(a.id, a.country) for a in rec.affiliations] == [(1, "DE")]
    assert rec.authors[0].affiliation_ids == [1] and rec.authors[1].affiliation_ids == []


def test_reject_with_reason(env) -> None:
    db, ids = env
    at = open_record()
    at.selectbox(key="reject_reason").set_value("out_of_scope").run()
    at.text_input(key="action_note").set_value("a workshop abstract").run()
    at.button(key="reject").click().run()
    rec = record(db, ids["munich"])
    assert rec.status == RecordStatus.REJECTED
    assert log(db, ids["munich"])[-1]["note"] == "out_of_scope: a workshop abstract"
    assert status_line(at).startswith(ids["cambridge"])


def test_skip_keeps_it_queued_for_others(env) -> None:
    db, ids = env
    at = open_record()
    at.button(key="skip").click().run()
    assert record(db, ids["munich"]).status == RecordStatus.QUEUED
    assert log(db, ids["munich"])[-1]["action"] == "skip"
    assert status_line(at).startswith(ids["cambridge"])
    bob = open_record("bob")
    assert status_line(bob).startswith(ids["munich"])


def test_flag_for_second_opinion(env) -> None:
    db, ids = env
    at = open_record()
    at.text_input(key="action_note").set_value("HQ or lab?").run()
    at.button(key="flag").click().run()
    rec = record(db, ids["munich"])
    assert rec.status == RecordStatus.QUEUED and rec.review_reasons[-1].code == "second_opinion"
    assert "HQ or lab?" in rec.review_reasons[-1].message
    assert status_line(at).startswith(ids["cambridge"])


def test_previous_next_and_undo(env) -> None:
    db, ids = env
    at = open_record()
    at.button(key="approve").click().run()
    at.button(key="prev").click().run()
    assert status_line(at).startswith(ids["munich"])
    at.button(key="next").click().run()
    assert status_line(at).startswith(ids["cambridge"])
    at.button(key="undo").click().run()
    assert not at.exception
    rec = record(db, ids["munich"])
    assert rec.status == RecordStatus.IN_REVIEW
    assert log(db, ids["munich"])[-1]["action"] == "undo"
    assert status_line(at).startswith(ids["munich"])
    assert "Undid your approve" in at.success[0].value


def test_conflict_on_stale_version_keeps_both_edits(env) -> None:
    db, ids = env
    pid = ids["munich"]
    at = open_record()
    tab(at, "Affiliations")
    at.text_input(key=f"ed-{pid}-af-0-country").set_value("AT").run()  # alice's unsaved edit
    with Store.open(db) as s:  # bob saves first (e.g. opened it by link in another tab)
        cur = s.get_record(pid)
        review.correct(s, pid, review.set_country(cur.content(), 0, "DE"), "bob", expected_version=cur.version)
    at.button(key="save").click().run()
    assert not at.exception
    assert "changed by someone else" in at.error[0].value
    rec = record(db, pid)
    assert rec.affiliations[0].country == "DE" and rec.provenance.reviewer == "bob"  # nothing overwritten
    assert status_line(at).startswith(pid)  # the fresh record is shown
    assert f"version {rec.version}" in status_line(at)
    assert any("country: 'DE' -> 'AT'" in t.value for t in at.text)  # alice's edit kept, shown
    at.button(key="reapply").click().run()
    assert at.text_input(key=f"ed-{pid}-af-0-country").value == "AT"
    at.button(key="save").click().run()
    assert record(db, pid).affiliations[0].country == "AT"
    assert [r["actor"] for r in log(db, pid)][-2:] == ["bob", "alice"]


def test_approve_conflict_shows_fresh_record(env) -> None:
    db, ids = env
    pid = ids["munich"]
    at = open_record()
    with Store.open(db) as s:
        cur = s.get_record(pid)
        review.reject(s, pid, "bob", expected_version=cur.version)
    at.button(key="approve").click().run()
    assert "changed by someone else" in at.error[0].value
    assert record(db, pid).status == RecordStatus.REJECTED
    assert "rejected" in status_line(at)


def test_deep_link_opens_a_record_held_by_someone_else(env) -> None:
    db, ids = env
    alice = open_record("alice")
    bob = open_record("bob", paper=ids["munich"])
    assert status_line(bob).startswith(ids["munich"])
    assert "alice has this record open" in bob.warning[0].value
    assert record(db, ids["munich"]).provenance.reviewer == "alice"  # bob did not take it over
    assert status_line(alice).startswith(ids["munich"])


def test_missing_pdf_still_shows_the_form(env, tmp_path: Path) -> None:
    db, ids = env
    with Store.open(db) as s:
        doc_path = Path(s.get_document(s.get_record(ids["munich"]).sha256).path)
    moved = doc_path.with_suffix(".moved")
    doc_path.rename(moved)
    try:
        at = open_record()
        assert any("no longer at" in w.value for w in at.warning)
        tab(at, "Affiliations")
        assert at.text_input(key=f"ed-{ids['munich']}-af-0-country").value == "FR"
        assert any("Sparse Attention" in c.value for c in at.code)  # the page text instead
    finally:
        moved.rename(doc_path)


def test_backends_side_by_side(env) -> None:
    db, ids = env
    with Store.open(db) as s:
        for pid in (ids["munich"], ids["cambridge"]):
            r = s.get_record(pid)
            review.approve(s, pid, "carol", expected_version=r.version)
    at = open_record()
    assert status_line(at).startswith(ids["tsinghua"])
    assert any(t.value == "countries —  record: CN   ·   llm: US   ·   rules: CN" for t in at.text)  # at the top
    tab(at, "Backends")
    frames = [df.value for df in at.dataframe]
    side = next(f for f in frames if "llm" in f.columns)
    row = side[side["field"] == "countries"].iloc[0]
    assert (row["rules"], row["llm"]) == ("CN", "US")


def test_hostile_text_renders_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = build(tmp_path / "h.db", tmp_path / "pdfs", hostile_host="127.0.0.1:9")
    monkeypatch.setenv("COLLABSCOPE_DB", str(tmp_path / "h.db"))
    at = open_record()
    assert status_line(at).startswith(ids["hostile"])
    texts = [t.value for t in at.text]
    assert any(t.startswith("<script>window.__pwned = 1</script>") for t in texts)
    assert any("⟨RLO⟩" in t and "⟨ZWSP⟩" in t for t in texts)
    assert any("(+" in t and "characters)" in t for t in texts)  # very long: cut, with a note
    for md in [*at.markdown, *at.caption, *at.warning, *at.error, *at.success, *at.info]:
        assert "<script" not in md.value and "](http" not in md.value
    assert record(tmp_path / "h.db", ids["hostile"]).title == HOSTILE_TITLE.format(host="127.0.0.1:9")


def test_second_review_mode(env, monkeypatch: pytest.MonkeyPatch) -> None:
    db, ids = env
    monkeypatch.setenv("COLLABSCOPE_DOUBLE_REVIEW", "1")
    alice = open_record("alice")
    alice.text_input(key=f"qf-{ids['munich']}-0").set_value("DE").run()
    bob = open_record("bob")
    bob.radio(key="mode").set_value("double").run()
    assert status_line(bob).startswith(ids["munich"])
    assert any("Blind second review" in i.value for i in bob.info)
    assert bob.text_input(key=f"qf-2nd-{ids['munich']}-0").value == "FR"  # the machine's, not alice's
    bob.text_input(key=f"qf-2nd-{ids['munich']}-0").set_value("DE").run()
    assert not bob.exception
    with Store.open(db) as s:
        done = s.double_reviews(pending=False)
    assert [(d["first_label"], d["second_label"], d["second_reviewer"]) for d in done] == [("DE", "DE", "bob")]
    assert any("agrees" in m.value for m in bob.success)


def test_evidence_crop_whole_page_and_page_two(env, tmp_path: Path) -> None:
    """Each flagged affiliation shows its crop; the whole page on demand; page 2 when the
    author block continues there (here: the affiliation is a footnote at the foot of page 1)."""
    from extractor.ingest.files import read_document
    from extractor.schemas import Affiliation, Alignment, Author, Evidence, PaperRecord, Provenance, ReviewReason
    from tests.test_review_view import two_page_paper

    db, ids = env
    doc = read_document(two_page_paper(tmp_path / "two.pdf"))
    at_ = doc.front.text.find("Universidad de Chile")
    rec = PaperRecord(
        paper_id=doc.paper_id, sha256=doc.sha256, source_file="two.pdf", title="Footnotes All the Way Down",
        authors=[Author(name="Ines Ortega", affiliation_ids=[0])],
        affiliations=[Affiliation(id=0, raw="Universidad de Chile", country=None, evidence=Evidence(
            start=at_, end=at_ + 20, alignment=Alignment.EXACT))],
        status=RecordStatus.QUEUED, confidence=0.2, priority=5.0, provenance=Provenance(backend="rules"),
        review_reasons=[ReviewReason(code="no_country", message="no country")])
    with Store.open(db) as s:
        s.add_document(doc)
        s.put_machine_record(rec, input_key="two")
    at = open_record(paper=doc.paper_id)
    assert status_line(at).startswith(doc.paper_id)
    assert len(at.image) == 3  # page 1 (where the evidence is), page 2, the crop of the flagged affiliation
    assert any("Page 2: the author block continues here" in c.value for c in at.caption)
    at.toggle(key="whole_pages").set_value(True).run()
    assert not at.exception, at.exception
    assert len(at.image) == 3 and any(c.value == "Page 2" for c in at.caption)
    at = open_record(paper=ids["munich"])  # a one-page paper, its affiliation near the top
    assert status_line(at).startswith(ids["munich"])
    assert not any("Page 2" in c.value for c in at.caption)


def test_overview_first_and_the_editor_tab_stays_open(env) -> None:
    """Per record the browser draws the plain overview, not the editors' widgets, until the
    reviewer opens an editor tab; that tab then stays open for the next records."""
    db, ids = env
    at = open_record()
    pid = ids["munich"]
    assert not [w for w in [*at.selectbox, *at.text_input] if w.key and w.key.startswith(f"ed-{pid}-")]
    assert any(t.value.startswith("[0] Technical University of Munich") and "FR · France" in t.value for t in at.text)
    assert any("Anna Schmidt [0]" in t.value for t in at.text)
    tab(at, "Affiliations")
    assert at.text_input(key=f"ed-{pid}-af-0-country").value == "FR"
    at.button(key="approve").click().run()
    assert status_line(at).startswith(ids["cambridge"])
    assert at.text_input(key=f"ed-{ids['cambridge']}-af-0-country").value == "GB"


def test_quick_fix_takes_a_typed_code_and_refuses_a_non_code(env) -> None:
    """The country is a two-letter code field: lower case is accepted, a typo is refused
    with a message (nothing saved, the record stays open), the country name is shown."""
    db, ids = env
    at = open_record()
    key = f"qf-{ids['munich']}-0"
    assert any(t.value == "France" for t in at.text)  # the name beside the code
    at.text_input(key=key).set_value("zz").run()
    assert not at.exception, at.exception
    assert any("not an ISO 3166 two" in e.value for e in at.error)
    assert status_line(at).startswith(ids["munich"])
    assert record(db, ids["munich"]).affiliations[0].country == "FR"
    assert [r["action"] for r in log(db, ids["munich"])].count("correct") == 0
    at.text_input(key=key).set_value("de").run()
    assert record(db, ids["munich"]).affiliations[0].country == "DE"
    assert status_line(at).startswith(ids["cambridge"])


def test_f_has_a_target_when_nothing_is_flagged(env) -> None:
    """A record with nothing flagged still offers its first affiliation's country in the
    quick-fix box (what F focuses), on the overview, without opening an editor tab."""
    db, ids = env
    at = open_record(paper=ids["cambridge"])
    assert status_line(at).startswith(ids["cambridge"])
    assert any("Nothing flagged" in c.value for c in at.caption)
    assert at.text_input(key=f"qf-{ids['cambridge']}-0").value == "GB"
    at.text_input(key=f"qf-{ids['cambridge']}-0").set_value("IE").run()
    rec = record(db, ids["cambridge"])
    assert rec.status == RecordStatus.VERIFIED and rec.affiliations[0].country == "IE"


def test_f_has_a_target_on_a_record_without_affiliations(env) -> None:
    """No affiliation at all: the quick-fix box holds a field to add one (what F focuses);
    Enter adds it to the reviewer's edits and its country becomes the next target."""
    from extractor.schemas import Author, PaperRecord, Provenance, ReviewReason

    db, ids = env
    with Store.open(db) as s:
        base = s.get_record(ids["eth"])
        rec = PaperRecord(paper_id="noaffs0000000000", sha256=base.sha256, source_file="x.pdf", title="No Affiliations",
                          authors=[Author(name="Solo Author", affiliation_ids=[])], affiliations=[],
                          status=RecordStatus.QUEUED, confidence=0.1, priority=9.0, provenance=Provenance(backend="rules"),
                          review_reasons=[ReviewReason(code="no_affiliation", message="no affiliation")])
        s.put_machine_record(rec, input_key="noaffs")
    at = open_record(paper="noaffs0000000000")
    key = "qf-noaffs0000000000-new"
    at.text_input(key=key).set_value("University of Oslo, Norway").run()
    assert not at.exception, at.exception
    assert at.text_input(key="qf-noaffs0000000000-0").value == ""
    at.text_input(key="qf-noaffs0000000000-0").set_value("no").run()
    rec = record(db, "noaffs0000000000")
    assert rec.status == RecordStatus.VERIFIED
    assert [(a.raw, a.country) for a in rec.affiliations] == [("University of Oslo, Norway", "NO")]
