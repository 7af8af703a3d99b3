"""What people read at 80 columns: every `--help` and the `queue` table wrap at word
boundaries, never strand a word, never cut a metavar or a paper id."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from extractor.cli import app

WIDTH = 80
COMMANDS = sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose terminal is 80 columns wide (click and rich both read COLUMNS)."""
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.setenv("TERMINAL_WIDTH", str(WIDTH))
    return CliRunner()


def _segments(line: str) -> list[int]:
    """Columns where a piece of text starts (after an indent or a gap of 2+ spaces)."""
    return [m.start() for m in re.finditer(r"(?:(?<=^)|(?<=\s\s))\S", line)]


def stranded_words(text: str, width: int = WIDTH) -> list[str]:
    """Lines that end early although the next line's first word would have fit.

    A continuation line starts at a column where the line above has text (a paragraph's
    indent, or the description column of an option): its first word belongs on the line
    above when there was room for it. That is what a hard-wrapped docstring re-wrapped
    at another width looks like ("... and CSV /" + "Parquet export ...").
    """
    lines = text.splitlines()
    bad = []
    for above, below in zip(lines, lines[1:], strict=False):
        if not above.strip() or not below.strip():
            continue
        indent = len(below) - len(below.lstrip())
        segments = _segments(above)
        if indent not in segments:
            continue
        if indent == segments[0] and len(segments) > 1 and len(_segments(below)) > 1:
            continue  # the next row of a two-column list (commands, options)
        first = below.split()[0]
        if first.startswith("-") or first[0] in "[{<(" or above.rstrip().endswith(":"):
            continue  # a new option row, a metavar or a list, not a continuation
        if len(above.rstrip()) + 1 + len(first) <= width:
            bad.append(f"{above.rstrip()!r} / {below.strip()!r}")
    return bad


def test_the_checker_finds_a_stranded_word() -> None:
    wrapped = ("  Without --all or --verified, JSONL exports every record except rejected\n"
               "  and CSV /\n"
               "  Parquet export human-verified records only.\n")
    assert "'  and CSV /' / 'Parquet export human-verified records only.'" in stranded_words(wrapped)
    assert stranded_words("  one paragraph that\n  wraps where it must because the next word is far too long for it\n"
                          .replace("that", "that " + "x" * 60)) == []


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_help_reads_well_at_80_columns(narrow: CliRunner, name: str | None) -> None:
    result = narrow.invoke(app, [name, "--help"] if name else ["--help"])
    assert result.exit_code == 0, result.output
    out = result.output
    too_wide = [line for line in out.splitlines() if len(line) > WIDTH]
    assert not too_wide, f"lines wider than {WIDTH}: {too_wide}"
    assert not stranded_words(out), "\n".join(stranded_words(out))
    assert "…" not in out, "help text cut with an ellipsis"
    for line in out.splitlines():
        opened, whole = re.findall(r"<[a-z]", line), re.findall(r"<[a-z][^<>\s]*(?: [^<>\s]+)*>", line)
        assert len(opened) == len(whole), f"a metavar broken across lines: {line!r}"
    assert "<bool>" not in out, "a flag shows a <bool> metavar"
    assert "╭" not in out and "│" not in out, "help drawn in boxes that squeeze the text at 80 columns"
    # The description column starts within the first 40 columns, so it keeps at least 40.
    starts = [_segments(line)[1] for line in out.splitlines()
              if line.startswith("  -") and len(_segments(line)) > 1]
    assert all(col <= 40 for col in starts), f"description column squeezed: starts at {max(starts)}"


def test_review_help_and_errors_keep_square_brackets(narrow: CliRunner) -> None:
    out = narrow.invoke(app, ["review", "--help"]).output
    assert "--allow-remote" in out and "docs/REVIEW.md" in out


def test_queue_keeps_paper_ids_whole_at_80_columns(narrow: CliRunner, tmp_path: Path) -> None:
    from extractor.store import Store

    db = tmp_path / "q.db"
    assert narrow.invoke(app, ["run", str(SAMPLES), "--db", str(db), "-q"]).exit_code == 0
    result = narrow.invoke(app, ["queue", "--n", "20", "--db", str(db)])
    assert result.exit_code == 0, result.output
    with Store.open(db) as store:
        ids = [r.paper_id for r in store.iter_records()]
    rows = [line for line in result.stdout.splitlines() if re.match(r"^\d+\s", line)]
    assert rows, result.stdout
    for line in rows:
        assert re.search(r"\b[0-9a-f]{16}\b", line), f"a paper id is cut: {line!r}"
    shown = set(re.findall(r"\b([0-9a-f]{16})\b", result.stdout))
    assert shown and shown <= set(ids)
    too_wide = [line for line in result.stdout.splitlines() if len(line) > WIDTH]
    assert not too_wide, too_wide
    with Store.open(db) as store:
        codes = {r.code for record in store.iter_records() for r in record.review_reasons}
    for line in rows:
        first = line.split()[-2] if line.split()[-1].startswith("+") else line.split()[-1]
        assert first in codes, f"a reason code is cut: {line!r}"
