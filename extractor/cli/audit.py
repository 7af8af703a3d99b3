"""``collabscope audit``: check the audit log against the records, or show one paper's log.

The ``reviews`` table is append-only (triggers) and hash-chained: each row's hash covers
its contents and the previous row's hash. ``audit verify`` re-walks the chain, checks that
every record is at the version, status and content its last log entry describes, and
runs SQLite's own ``PRAGMA integrity_check``. It opens the database read-only, so it can
run while a batch or a reviewer is writing.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from extractor.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    ConfigOpt,
    DbOpt,
    command,
    console_err,
    console_out,
    require_db,
    settings_from,
)
from extractor.errors import ConfigError
from extractor.store import Store


class AuditAction(StrEnum):
    verify = "verify"
    log = "log"


@command("audit")
def audit_cmd(
    action: Annotated[AuditAction, typer.Argument(help="verify: check the log and the records; log: show one paper's history.")],
    paper_id: Annotated[str | None, typer.Argument(help="Paper id (for `log`).", show_default=False)] = None,
    anchor: Annotated[str | None, typer.Option("--anchor", help="A head hash printed by an earlier verify: the log must still contain it.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Verify the append-only, hash-chained audit log against the records (exit 1 on any problem).

    `verify` prints every problem found (an edited or deleted log row, a record whose
    content, version or status does not match its last log entry, a missing trigger, a
    damaged file) and the log's head hash: note it down, and a later `--anchor HASH` proves
    the log was not truncated since. `log PAPER_ID` prints who changed that record and when.

    Example: collabscope audit verify --db demo.db
    """
    settings = settings_from(db, config)
    if anchor is not None:
        anchor = anchor.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", anchor):
            raise ConfigError(f"--anchor {anchor!r} is not a log hash: a head hash is the 64 hex digits "
                              "`collabscope audit verify` printed after 'head'")
    require_db(settings)
    _audit(settings.db, action, paper_id, anchor, as_json)


def _audit(path: Path, action: AuditAction, paper_id: str | None, anchor: str | None, as_json: bool) -> None:
    with Store.open(path, create=False, readonly=True) as store:
        if action is AuditAction.log:
            if not paper_id:
                raise ConfigError("`collabscope audit log` needs a PAPER_ID (see `collabscope export` for ids)")
            rows = store.history(paper_id)
            if as_json:
                console_out.print_json(json.dumps(rows))
            elif not rows:
                console_err.print(f"no log entries for paper {paper_id}", markup=False)
            for r in [] if as_json else rows:
                change = f"v{r['version_before'] or 0}->v{r['version_after']}"
                status = f"{r['status_before'] or '-'}->{r['status_after']}"
                note = f"  note: {r['note']}" if r["note"] else ""
                console_out.print(f"{r['id']:>6}  {r['at']}  {r['actor']:<16} {r['action']:<10} {change:<9} {status}{note}",
                                  markup=False)
            raise typer.Exit(EXIT_OK if rows else EXIT_ERROR)
        problems = store.verify_log(anchor=anchor)
        integrity = store.integrity_check()
        if integrity != "ok":
            problems.insert(0, f"database file: PRAGMA integrity_check says {integrity}")
        rows, head = store.log_head()
        n_records = sum(store.status_counts()["records"].values())
    if as_json:
        console_out.print_json(json.dumps({"db": str(path), "ok": not problems, "problems": problems,
                                           "log_rows": rows, "records": n_records, "head": head}))
    else:
        for p in problems:
            console_out.print(f"problem: {p}", markup=False)
        verdict = "FAILED" if problems else "ok"
        console_err.print(f"audit {verdict}: {len(problems)} problem(s); {rows} log rows, {n_records} records; "
                          f"head {head}", markup=False)
    raise typer.Exit(EXIT_ERROR if problems else EXIT_OK)
