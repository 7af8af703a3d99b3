"""The command line of the venue path: `collect paperlists` -> `run` with no path -> `stats` / `eval --venue-labels`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from extractor.cli import app
from extractor.store import Store

runner = CliRunner()


def _paper(pid: str, affs: list[tuple[str, str, str]]) -> dict:
    """One paper of the paperlists corpus JSONL: one author per (raw, ISO code, source label)."""
    return {"id": f"nips2018:{pid}", "venue": "nips", "year": 2018, "title": f"Paper {pid}",
            "authors": [{"name": f"Author {pid}{i}", "email_domain": None,
                         "affiliations": [{"raw": raw, "institution": None, "country": code, "country_source": label}]}
                        for i, (raw, code, label) in enumerate(affs)],
            "countries": sorted({c for _, c, _ in affs})}


def test_metadata_only_venue_gives_stats_and_eval_lists_disagreements(tmp_path: Path):
    source = tmp_path / "nips2018.jsonl"
    papers = [
        _paper("1", [("Stanford University, Stanford, CA, USA", "US", "United States"),
                     ("Tsinghua University, Beijing, China", "CN", "China")]),
        _paper("2", [("Massachusetts Institute of Technology, Cambridge, MA, USA", "US", "United States"),
                     ("The University of Hong Kong, Hong Kong", "HK", "China")]),
        _paper("3", [("University of Oxford, Oxford, UK", "GB", "United States")]),
    ]
    source.write_text("".join(json.dumps(p) + "\n" for p in papers), encoding="utf-8")
    db = str(tmp_path / "v.db")
    assert runner.invoke(app, ["collect", "paperlists", str(source), "--db", db]).exit_code == 0
    result = runner.invoke(app, ["run", "--db", db])
    assert result.exit_code == 0, result.output
    with Store.open(db) as store:
        assert {r.provenance.backend for r in store.iter_records()} == {"venue"}

    stats = runner.invoke(app, ["stats", "--db", db, "--json", "--group-hk-mo"])
    assert stats.exit_code == 0, stats.output
    share = json.loads(stats.output)["pair_share"]
    assert (share["count"], share["population"]) == (2, 3)  # HK grouped with CN for paper 2

    ev = runner.invoke(app, ["eval", "--db", db, "--venue-labels", "--group-hk-mo", "--json"])
    assert ev.exit_code == 0, ev.output
    report = json.loads(ev.output)
    assert (report["compared"], report["agree"]) == (3, 2)
    assert [d["key"] for d in report["disagreements"]] == ["paperlists:nips2018:3"]
    assert report["ours_pair"] == report["source_pair"] == report["ours_pair_source_folding"] == 2
    text = runner.invoke(app, ["eval", "--db", db, "--venue-labels"])
    assert "paperlists:nips2018:3" in text.output


def test_eval_needs_gold_or_venue_labels(tmp_path: Path):
    db = tmp_path / "v.db"
    Store.open(db).close()
    result = runner.invoke(app, ["eval", "--db", str(db)])
    assert result.exit_code == 2


def test_openreview_metadata_collected_through_the_real_client_gives_records_at_the_paper_year(store, tmp_path):
    from extractor import pipeline
    from extractor.collect import openreview as or_collect
    from extractor.config import Settings
    from extractor.schemas import paper_id_for, venue_paper_sha256
    from tests.collect_helpers import VENUE, polite, running_fake_openreview

    fakes = running_fake_openreview()
    fake = next(fakes)
    try:
        client = or_collect.make_client(fake.url, polite(fake.test_clock))
        or_collect.collect_openreview(store, client, VENUE, accepted_only=True, api_url=fake.url)
    finally:
        next(fakes, None)
    pipeline.run(store, Settings(db=tmp_path / "x.db"), [])
    # 2024 papers: Alice at Tsinghua since 2020 (Google 2016-2019 is over), Bob at CMU since 2018
    one = store.get_record(paper_id_for(venue_paper_sha256("openreview:paper0001")))
    assert one.countries() == ["CN", "US"] and one.provenance.backend == "venue"
    assert one.author_countries() == [["CN"], ["US"]]
    # ~Bob_Builder0 has no profile: no affiliation for him, not a guess
    zero = store.get_record(paper_id_for(venue_paper_sha256("openreview:paper0000")))
    assert zero.author_countries() == [["CN"], []]
