"""Hand-built records for aggregate, report and export tests (known answers, no PDFs).

``paper("p1", [["US"], ["CN", "HK"]])`` is a paper with two authors, the second holding two
affiliations. Records go in through the store's public writers: machine records with
``put_machine_record``, human reviews with ``save_record`` (so the audit log holds the
machine version exactly as in production).
"""

from __future__ import annotations

from collections.abc import Sequence

from extractor.schemas import (
    Affiliation,
    Author,
    ModelMention,
    PaperRecord,
    Provenance,
    RecordStatus,
    Role,
)
from extractor.store import Store

Model = tuple[str, str | None, str | None]  # family, role, developer country


def paper(
    pid: str,
    authors: Sequence[Sequence[str | None]],
    *,
    models: Sequence[Model] = (),
    status: RecordStatus = RecordStatus.MACHINE,
    audit: bool = False,
    venue: str | None = "NeurIPS",
    year: int | None = 2018,
    title: str | None = None,
) -> PaperRecord:
    """A record whose i-th author holds one affiliation per code in ``authors[i]``.

    ``None`` is an affiliation with no resolved country; an empty list, no affiliation.
    """
    affs: list[Affiliation] = []
    people: list[Author] = []
    for i, codes in enumerate(authors):
        ids = []
        for code in codes:
            aff_id = len(affs) + 1
            affs.append(Affiliation(id=aff_id, raw=f"Institute {aff_id}, {code or 'somewhere'}",
                                    institution=f"Institute {aff_id}", country=code))
            ids.append(aff_id)
        people.append(Author(name=f"Author {i + 1}", affiliation_ids=ids, email=f"a{i + 1}@example.org"))
    mentions = [
        ModelMention(name=family, family=family, role=Role(role) if role else None, developer_country=dev,
                     developer=f"{family} Lab" if dev else None)
        for family, role, dev in models
    ]
    sha = (pid.encode().hex() + "0" * 64)[:64]
    return PaperRecord(
        paper_id=pid, sha256=sha, source_file=f"{pid}.pdf", venue=venue, year=year,
        title=title or f"Paper {pid}", authors=people, affiliations=affs, model_mentions=mentions,
        status=status, audit=audit, confidence=0.95,
        provenance=Provenance(backend="rules", backends=["rules"], extracted_at="2024-01-01T00:00:00"),
    )


def put(store: Store, record: PaperRecord) -> PaperRecord:
    """Insert a machine record (as reconcile would)."""
    assert store.put_machine_record(record, input_key=record.paper_id + "-k") in ("created", "updated")
    return store.get_record(record.paper_id)


def review(store: Store, pid: str, truth: PaperRecord | None = None, *, status: RecordStatus = RecordStatus.VERIFIED,
           actor: str = "alice") -> PaperRecord:
    """A person verifies (and optionally corrects) a record, through optimistic locking."""
    current = store.get_record(pid)
    content = (truth or current).model_dump(include={"title", "authors", "affiliations", "model_mentions"})
    new = current.model_copy(update={
        **{k: getattr(truth or current, k) for k in content},
        "status": status,
        "provenance": current.provenance.model_copy(update={"reviewer": actor, "reviewed_at": "2024-02-01T10:00:00"}),
    })
    action = "approve" if truth is None else "correct"
    return store.save_record(new, expected_version=current.version, action=action, actor=actor)


def add(store: Store, pid: str, authors: Sequence[Sequence[str | None]], *, truth: Sequence[Sequence[str | None]] | None = None,
        reviewed: bool = False, **kw) -> PaperRecord:  # type: ignore[no-untyped-def]
    """Machine record, then (if ``reviewed`` or ``truth``) a human verification."""
    record = put(store, paper(pid, authors, **kw))
    if reviewed or truth is not None:
        fixed = paper(pid, truth, **kw) if truth is not None else None
        return review(store, pid, fixed)
    return record
