"""The other review pages (queue, dashboard, database) and the access gate, with AppTest;
plus the source checks that keep the UI honest (no SQL, no raw HTML)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from extractor.review import actions as review
from extractor.review import double as review_double
from extractor.schemas import RecordStatus
from extractor.store import Store
from tests.review_fixtures import build, copy_db

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "review_ui" / "app.py")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("pages-template")
    return root / "t.db", build(root / "t.db", root / "pdfs", machine_extra=3)


@pytest.fixture
def env(template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str]]:
    path, ids = template
    db = copy_db(path, tmp_path / "ui.db")
    monkeypatch.setenv("COLLABSCOPE_DB", str(db))
    return db, ids


def app(reviewer: str | None = "alice") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if reviewer:
        at.session_state["reviewer"] = reviewer
    return at


# --------------------------------------------------------------------------- access


def test_a_reviewer_name_is_required_first(env) -> None:
    db, ids = env
    at = app(None).run()
    assert at.text_input(key="reviewer_input")
    assert [b.label for b in at.button] == ["Start reviewing"]
    at.text_input(key="reviewer_input").set_value("machine")
    at.button[0].click().run()
    assert "not 'machine'" in at.error[0].value
    at.text_input(key="reviewer_input").set_value("  Ada   Lovelace ")  # form: value and submit together
    at.button[0].click().run()
    assert at.session_state["reviewer"] == "Ada Lovelace"
    assert at.title[0].value == "Review queue"
    with Store.open(db) as s:
        assert s.log_rows(human_only=True) == []  # nothing claimed before a name was given


def test_views_are_not_auto_served() -> None:
    """A ``pages/`` folder next to app.py would be served by Streamlit without the gate."""
    assert not (ROOT / "review_ui" / "pages").exists()


def test_shared_secret(env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLABSCOPE_REVIEW_SECRET", "correct horse battery staple")
    at = app(None).run()
    assert at.text_input(key="secret_input")
    at.text_input(key="secret_input").set_value("wrong")
    at.button[0].click().run()
    assert at.error[0].value == "Wrong secret."
    assert not at.session_state["_access_ok"] if "_access_ok" in at.session_state else True
    at.text_input(key="secret_input").set_value("correct horse battery staple")
    at.button[0].click().run()
    assert at.text_input(key="reviewer_input")  # now the name


def test_shared_secret_from_streamlit_secrets(env) -> None:
    at = app("alice")
    at.secrets["collabscope"] = {"review_secret": "from secrets.toml file"}
    at.run()
    assert at.text_input(key="secret_input")
    assert not at.title or at.title[0].value != "Review queue"


def test_remote_without_auth_refuses(env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLABSCOPE_REVIEW_REMOTE", "1")
    at = app("alice").run()
    assert "no authentication is configured" in at.error[0].value
    assert not at.title


def test_oidc_login(env) -> None:
    at = app(None)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "s",
                          "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}
    at.user = {"is_logged_in": False}
    at.run()
    assert at.button(key="login")
    at.user = {"is_logged_in": True, "email": "ada@example.org", "name": "Ada"}
    at.run()
    assert at.session_state["reviewer"] == "ada@example.org"
    assert at.title[0].value == "Review queue"


# --------------------------------------------------------------------------- pages


def test_queue_page_counts_filters_and_start(env) -> None:
    db, ids = env
    at = app().run()
    assert not at.exception
    assert at.title[0].value == "Review queue"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["queued"] == "5" and metrics["machine"] == "3"
    head = at.dataframe[0].value
    assert list(head["paper"]) == [ids[k] for k in ("munich", "cambridge", "tsinghua", "eth", "toronto")]
    at.selectbox(key="f_reason").set_value("backends_disagree").run()
    assert list(at.dataframe[0].value["paper"]) == [ids["tsinghua"]]
    at.button(key="start").click().run()
    assert not at.exception
    status = next(t.value for t in at.text if " · version " in t.value)
    assert status.startswith(ids["tsinghua"])  # the record page honours the filter


def test_queue_open_specific_record(env) -> None:
    db, ids = env
    at = app().run()
    at.selectbox(key="open_pick").set_value(ids["eth"]).run()
    at.button(key="open").click().run()
    assert not at.exception
    status = next(t.value for t in at.text if " · version " in t.value)
    assert status.startswith(ids["eth"])


def test_audit_mode_serves_audit_items(env) -> None:
    db, ids = env
    with Store.open(db) as s:  # draw one confident record into the audit sample
        rec = next(r for r in s.iter_records(["machine"]))
        s.put_machine_record(rec.model_copy(update={"audit": True, "status": RecordStatus.QUEUED}), input_key="audit")
    at = app().run()
    at.button(key="mode_audit").click().run()
    assert list(at.dataframe[0].value["paper"]) == [rec.paper_id]
    at.button(key="start").click().run()
    status = next(t.value for t in at.text if " · version " in t.value)
    assert status.startswith(rec.paper_id) and "AUDIT SAMPLE" in status


def test_dashboard(env) -> None:
    db, ids = env
    with Store.open(db) as s:
        a = review.serve_next(s, "alice")
        review.correct(s, a.paper_id, review.set_country(a.content(), 0, "DE"), "alice", expected_version=a.version,
                       double_fraction=1.0)
        b = review.serve_next(s, "alice")
        review.approve(s, b.paper_id, "alice", expected_version=b.version, double_fraction=1.0)
        review_double.submit_second_review(s, a.paper_id, "bob", "correct", review.set_country(a.content(), 0, "DE"))
        review_double.submit_second_review(s, b.paper_id, "bob", "approve")
    at = app()
    at.run()
    at.switch_page("views/dashboard.py").run(timeout=120)
    assert not at.exception, at.exception
    texts = " | ".join(t.value for t in at.text)
    assert "κ = 1.00" in texts and "agreement 100% on 2 pairs" in texts
    machine = at.dataframe[0].value
    assert machine.iloc[1]["n"] == 2  # routed queue: two decided
    assert "collaborations" in texts  # aggregates with intervals
    assert len(at.image) >= 1  # the report's charts


def test_database_page(env) -> None:
    at = app().run()
    at.switch_page("views/overview.py").run()
    assert not at.exception
    assert at.title[0].value == "Database"


# --------------------------------------------------------------------------- source checks

SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE (TABLE|INDEX)|PRAGMA)\b|\.query\(|\bexecute\(|"
                 r"sqlite3|sqlite_utils")


def test_no_sql_in_review_ui() -> None:
    offenders = []
    for path in (ROOT / "review_ui").rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if SQL.search(code) and not code.strip().startswith(('"', "'")):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_no_raw_html_in_review_ui() -> None:
    for path in (ROOT / "review_ui").rglob("*.py"):
        text = path.read_text()
        assert "unsafe_allow_html" not in text, path
        assert "st.html(" not in text, path
        assert "components.v1" not in text, path


def test_library_never_imports_streamlit() -> None:
    for path in (ROOT / "extractor").rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+streamlit", path.read_text(), re.M), path
