"""Collectors and the venue store: what each source's listing becomes, through the real clients on loopback fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devtools.fake_arxiv import FakeArxiv, Paper, demo_papers
from devtools.fake_openreview import FakeOpenReview, minimal_pdf, note, position, profile
from extractor.cli import app
from extractor.collect import arxiv as arxiv_collect
from extractor.collect import openreview as or_collect
from extractor.collect.base import CollectSummary, collect_pdfs
from extractor.collect.http import Downloader
from extractor.collect.paperlists import collect_paperlists, paper_row
from extractor.store import Store
from tests.collect_helpers import VENUE, FakeClock, polite, running_fake_openreview

runner = CliRunner()


@pytest.fixture
def fake_or() -> Iterator[FakeOpenReview]:
    yield from running_fake_openreview()


# ---------------------------------------------------------------------- the store


def test_venue_store_upsert_keeps_link_lists_pages_and_counts(store: Store) -> None:
    rows = [{"source": "arxiv", "source_id": f"2401.{i:05d}", "venue": "arxiv", "year": 2024, "title": f"T{i}",
             "authors": [{"name": "A", "affiliations": []}], "source_countries": ["China"]} for i in range(5)]
    assert store.upsert_venue_papers(rows) == 5
    assert store.link_venue_paper("arxiv:2401.00001", "ab" * 32)
    assert not store.link_venue_paper("arxiv:nope", "cd" * 32)
    # A refresh without a hash keeps the link and updates the metadata.
    store.upsert_venue_papers([{**rows[1], "title": "New title"}])
    row = store.venue_paper("arxiv:2401.00001")
    assert row["sha256"] == "ab" * 32 and row["title"] == "New title"
    assert row["authors"] == [{"name": "A", "affiliations": []}] and row["source_countries"] == ["China"]
    assert [r["key"] for r in store.venue_papers_for_document("ab" * 32)] == ["arxiv:2401.00001"]
    assert len(store.list_venue_papers(linked=False)) == 4
    first = store.list_venue_papers(limit=2)
    rest = store.list_venue_papers(after_key=first[-1]["key"])
    assert [r["key"] for r in first + rest] == sorted(r["key"] for r in store.list_venue_papers())
    assert store.count_venue_papers() == {"papers": 5, "linked": 1, "profiles": 0}
    store.upsert_author_profiles([{"profile_id": "~A_B1", "history": [{"institution": "X", "start": 2020}]}])
    assert store.author_profiles(["~A_B1", "~none"])["~A_B1"]["history"][0]["institution"] == "X"
    assert store.author_profile_ids() == {"~A_B1"}


# ---------------------------------------------------------------------- paperlists


def test_paperlists_entry_aligns_authors_affiliations_and_keeps_source_countries_apart() -> None:
    entry = {  # the per-author ';' and per-affiliation '+' layout of Paper Copilot's files
        "id": "abc", "title": "T", "status": "Poster", "track": "main",
        "author": "Author1;Author2;Author3;Author4",
        "aff": "Univ1;Univ2;Univ3;Google DeepMind+McGill University",
        "aff_domain": "univ1.edu;univ2.edu;univ3.edu;google.com+mcgill.ca",
        "aff_unique_index": "0;1;2;3+4",
        "aff_unique_norm": "University1;University2;University3;Google DeepMind;McGill University",
        "aff_country_unique_index": "0;1;0;2+1",
        "aff_country_unique": "United States;Canada;United Kingdom",
        "pdf": "https://example.org/abc.pdf", "site": "https://openreview.net/forum?id=aBc-12_x",
    }
    row = paper_row(entry, venue="icml", year=2024, file_id="icml2024")
    assert row["source_id"] == "icml2024:abc" and row["decision"] == "Poster"
    a4 = row["authors"][3]
    assert [f["institution"] for f in a4["affiliations"]] == ["Google DeepMind", "McGill University"]
    assert [f["country_label"] for f in a4["affiliations"]] == ["United Kingdom", "Canada"]
    assert [f["domain"] for f in a4["affiliations"]] == ["google.com", "mcgill.ca"]
    assert row["authors"][1]["affiliations"][0] == {"raw": "Univ2", "institution": "University2",
                                                   "country_label": "Canada", "domain": "univ2.edu"}
    assert row["source_countries"] == ["Canada", "United Kingdom", "United States"]
    assert row["extra"]["openreview_id"] == "aBc-12_x"  # the same paper as openreview:aBc-12_x
    # Counts that do not line up: nothing is assigned to an author, the strings are kept.
    loose = paper_row({**entry, "aff": "Univ1;Univ2"}, venue="icml", year=2024, file_id="icml2024")
    assert all(a["affiliations"] == [] for a in loose["authors"])
    assert loose["extra"]["affiliations"] == ["Univ1", "Univ2"]


def test_paperlists_authors_field_variant_and_accepted_only(tmp_path: Path, store: Store) -> None:
    """Some files name authors in ``authors`` (", "-joined) and list rejected papers with a status."""
    src = tmp_path / "nips2031.json"
    src.write_text(json.dumps([
        {"id": "a1", "title": "Kept", "status": "Spotlight", "authors": "Ann One, Bo Two"},
        {"id": "a2", "title": "Dropped", "status": "Reject", "authors": "Cy Three"},
        {"id": "a3", "title": "Dropped too", "status": "Desk Reject", "authors": "Di Four"},
        {"id": "a4", "title": "Withdrawn", "status": "Withdraw", "authors": "Ed Five"},
    ]))
    s = collect_paperlists(store, src, accepted_only=True)
    assert s.listed == 1
    assert [a["name"] for a in store.venue_paper("paperlists:nips2031:a1")["authors"]] == ["Ann One", "Bo Two"]
    assert collect_paperlists(store, src).listed == 4


def test_collect_paperlists_is_metadata_only_and_idempotent(tmp_path: Path) -> None:
    src = tmp_path / "nips2030.json"
    src.write_text(json.dumps([{"id": f"p{i}", "title": f"T{i}", "author": "A;B", "aff": "MIT;Peking University",
                                "aff_country_unique_index": "0;1", "aff_country_unique": "United States;China",
                                "pdf": f"https://example.invalid/{i}.pdf"} for i in range(3)]))
    db = tmp_path / "c.db"
    result = runner.invoke(app, ["collect", "paperlists", str(src), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "3 papers listed (3 new, 0 already stored)" in result.output and "0 requests" in result.output
    again = runner.invoke(app, ["collect", "--db", str(db), "paperlists", str(src)])  # the group's --db
    assert again.exit_code == 0, again.output
    assert "(0 new, 3 already stored)" in again.output
    with Store.open(db) as store:
        rows = store.list_venue_papers(source="paperlists")
        assert [(r["venue"], r["year"]) for r in rows] == [("nips", 2030)] * 3
        assert rows[0]["authors"][1]["affiliations"][0]["country_label"] == "China"
        assert store.count_venue_papers()["linked"] == 0


# ---------------------------------------------------------------------- OpenReview


def test_openreview_collects_notes_and_profiles_through_the_real_client(store: Store, fake_or) -> None:
    clock = fake_or.test_clock
    client = or_collect.make_client(fake_or.url, polite(clock))
    s = or_collect.collect_openreview(store, client, VENUE, accepted_only=True, api_url=fake_or.url)
    assert (s.listed, s.new, s.profiles_fetched, s.profiles_missing) == (5, 5, 9, 1)
    row = store.venue_paper("openreview:paper0001")
    assert row["venue"] == VENUE and row["year"] == 2024 and row["decision"] == "NeurIPS 2024 poster"
    assert [a["id"] for a in row["authors"]] == ["~Alice_Author1", "~Bob_Builder1"]
    assert row["pdf_url"] == f"{fake_or.url}/pdf?id=paper0001" and row["extra"]["date"]
    prof = store.author_profiles(["~Alice_Author1", "~Bob_Builder0"])
    assert prof["~Alice_Author1"]["history"][0] == {"position": "PhD student", "institution": "Tsinghua University",
                                                    "domain": "tsinghua.edu.cn", "country": None, "start": 2020,
                                                    "end": None}
    assert prof["~Alice_Author1"]["email_domains"] == ["tsinghua.edu.cn"]
    assert prof["~Bob_Builder0"]["history"] == []  # asked, not found: stored so a re-run does not ask again
    assert fake_or.requests("/profiles/search")[0].method == "POST"
    assert all(r.headers["User-Agent"].startswith("collabscope/") for r in fake_or.log)  # not openreview-py's
    # Every submission without --accepted-only (the rejected one included); profiles are not asked again.
    before = len(fake_or.requests("/profiles"))
    s2 = or_collect.collect_openreview(store, client, VENUE, api_url=fake_or.url)
    assert (s2.listed, s2.new) == (6, 1)
    assert len(fake_or.requests("/profiles")) == before
    assert store.venue_paper("openreview:rejected01")["authors"][0]["email_domain"] == "example.org"


def test_merged_profile_is_stored_under_the_alias_the_paper_uses(store: Store) -> None:
    clock = FakeClock()
    notes = [note("n1", title="T", authors=["Dana D"], authorids=["~Dana_D2"], venue="V 2024", venueid="V/2024")]
    profs = [profile("~Dana_D1", "Dana D", [position("ETH Zurich", "ethz.ch", start=2019)], aliases=["~Dana_D2"])]
    with FakeOpenReview(notes, profs, clock=clock.now) as fake:
        client = or_collect.make_client(fake.url, polite(clock))
        s = or_collect.collect_openreview(store, client, "V/2024", accepted_only=True, api_url=fake.url)
    assert s.profiles_missing == 0
    assert store.author_profiles(["~Dana_D2"])["~Dana_D2"]["history"][0]["domain"] == "ethz.ch"


def test_openreview_pdfs_are_verified_linked_and_never_fetched_twice(store: Store, fake_or, tmp_path: Path) -> None:
    clock = fake_or.test_clock
    session = polite(clock)
    client = or_collect.make_client(fake_or.url, session)
    s = or_collect.collect_openreview(store, client, VENUE, accepted_only=True, api_url=fake_or.url)
    fake_or.pdf = lambda nid: b"<html>login</html>" if nid == "paper0003" else minimal_pdf(nid)
    collect_pdfs(store, Downloader(session, tmp_path / "pdfs"), s, source="openreview")
    assert s.downloaded == 4 and [k for k, _ in s.failed] == ["openreview:paper0003"]
    assert "not a PDF" in s.failed[0][1]
    assert not (tmp_path / "pdfs" / "openreview-paper0003.pdf").exists()
    linked = {r["key"]: r["sha256"] for r in store.list_venue_papers(linked=True)}
    assert len(linked) == 4
    import hashlib
    for path in s.pdfs:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == linked["openreview:" + path.stem.split("-", 1)[1]]
    n_pdf = len(fake_or.requests("/pdf"))
    s2 = CollectSummary(source="openreview")
    collect_pdfs(store, Downloader(session, tmp_path / "pdfs"), s2, source="openreview")
    assert (s2.already_linked, s2.downloaded) == (4, 0)
    assert len(fake_or.requests("/pdf")) == n_pdf + 1  # only the one that failed is asked again


def test_openreview_cli_collects_and_ingests_linked_documents(tmp_path: Path, fake_or) -> None:
    db, out = tmp_path / "c.db", tmp_path / "pdfs"
    args = ["collect", "openreview", VENUE, "--accepted-only", "--out", str(out), "--db", str(db),
            "--api-url", fake_or.url, "--interval", "0"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "5 papers listed" in result.output and "PDFs 5 downloaded" in result.output
    assert "ingested 5 new" in result.output
    with Store.open(db) as store:
        outcomes = store.ingest_outcomes()
        linked = {r["sha256"] for r in store.list_venue_papers(linked=True)}
        assert len(linked) == 5 and linked <= {d["sha256"] for d in outcomes}
        assert {(d["venue"], d["year"]) for d in outcomes} == {("NeurIPS", 2024)}
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "PDFs 0 downloaded, 0 reused, 5 already collected" in again.output


# ---------------------------------------------------------------------- arXiv


def test_arxiv_ids_through_the_real_client_skip_what_is_stored(store: Store, tmp_path: Path) -> None:
    clock = FakeClock()
    with FakeArxiv(demo_papers(5), clock=clock.now) as fake:
        session = polite(clock)
        client = arxiv_collect.make_client(session, api_url=fake.api_url, delay_seconds=0)
        ids = tmp_path / "ids.txt"
        ids.write_text("# some papers\n2401.00001\nhttps://arxiv.org/abs/2401.00002v3\n2401.00003v1\n")
        s = arxiv_collect.collect_arxiv(store, client, ids=arxiv_collect.read_ids(ids), api_url=fake.api_url)
        assert (s.listed, s.new, s.skipped) == (3, 3, 0)
        row = store.venue_paper("arxiv:2401.00002")
        assert row["title"] == "Learning things part 2" and row["year"] == 2024
        assert row["authors"][0]["affiliations"] == [{"raw": "Tsinghua University", "institution": None,
                                                      "country_label": None}]
        assert row["extra"]["primary_category"] == "cs.LG" and row["pdf_url"].startswith(fake.url)
        queries = len(fake.requests("/api/query"))
        s2 = arxiv_collect.collect_arxiv(store, client, ids=["2401.00001", "2401.00002", "2401.00004"],
                                         api_url=fake.api_url)
        assert (s2.skipped, s2.new) == (2, 1)
        asked = fake.requests("/api/query")[queries:]
        assert [r.query["id_list"] for r in asked] == [["2401.00004"]]
        # A query lists again (its result set changes over time) and updates what is stored.
        s3 = arxiv_collect.collect_arxiv(store, client, query="ti:learning", api_url=fake.api_url)
        assert (s3.listed, s3.new) == (5, 1)


def test_arxiv_cli_downloads_pdfs(tmp_path: Path) -> None:
    with FakeArxiv([Paper("2402.00001", "One", [("A", [])])]) as fake:
        ids = tmp_path / "ids.txt"
        ids.write_text("2402.00001\n")
        result = runner.invoke(app, ["collect", "arxiv", "--ids", str(ids), "--out", str(tmp_path / "pdfs"),
                                     "--db", str(tmp_path / "c.db"), "--api-url", fake.api_url, "--interval", "0",
                                     "--no-ingest"])
    assert result.exit_code == 0, result.output
    assert "PDFs 1 downloaded" in result.output
    assert (tmp_path / "pdfs" / "arxiv-2402.00001.pdf").read_bytes().startswith(b"%PDF-")


def test_arxiv_needs_exactly_one_of_ids_or_query(tmp_path: Path) -> None:
    result = runner.invoke(app, ["collect", "arxiv", "--db", str(tmp_path / "c.db"), "--no-pdfs"])
    assert result.exit_code == 2 and "exactly one of --ids" in result.output


def test_paperlists_download_fetches_links_and_ingests(tmp_path: Path) -> None:
    with FakeArxiv([Paper("2403.00001", "One", [("A", [])]), Paper("2403.00002", "Two", [("B", [])])]) as fake:
        src = tmp_path / "icml2031.json"
        src.write_text(json.dumps([{"id": f"q{i}", "title": f"T{i}", "author": "A", "aff": "MIT",
                                    "pdf": f"{fake.url}/pdf/2403.0000{i}"} for i in (1, 2)]
                                  + [{"id": "q3", "title": "no pdf", "author": "C"}]))
        args = ["collect", "paperlists", str(src), "--download", "--out", str(tmp_path / "pdfs"),
                "--db", str(tmp_path / "c.db"), "--interval", "0"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "PDFs 2 downloaded, 0 reused, 0 already collected, 1 without a link, 0 failed" in result.output
        assert "ingested 2 new" in result.output
        again = runner.invoke(app, args)
        assert "PDFs 0 downloaded, 0 reused, 2 already collected" in again.output
        assert len(fake.requests("/pdf")) == 2
    with Store.open(tmp_path / "c.db") as store:
        assert store.count_venue_papers(source="paperlists") == {"papers": 3, "linked": 2, "profiles": 0}


def test_user_agent_names_the_tool_and_the_contact(monkeypatch: pytest.MonkeyPatch) -> None:
    from extractor import __version__
    from extractor.collect.http import PoliteSession

    monkeypatch.setenv("COLLABSCOPE_CONTACT", "mailto:team@example.org")
    assert PoliteSession().headers["User-Agent"] == f"collabscope/{__version__} (+mailto:team@example.org)"
