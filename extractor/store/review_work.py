"""Review work in progress: claim leases on open records and the double-review sample.

Working tables beside the audit log (which stays the record of what happened): a lease
keeps two reviewers from being served the same record, and the double-review rows pair
a first decision with a blind second one for inter-reviewer agreement.
"""

from __future__ import annotations

from typing import Any

from extractor.store.base import StoreBase, insert_sql, utcnow


class ReviewWorkStore(StoreBase):
    """Reads and writes of ``review_claims`` and ``double_reviews``."""

    def get_claim(self, paper_id: str) -> dict[str, Any] | None:
        """The lease on a record a reviewer has open, if any."""
        rows = self._rows("SELECT * FROM review_claims WHERE paper_id = ?", [paper_id])
        return rows[0] if rows else None

    def claims(self, *, reviewer: str | None = None, expired_before: str | None = None) -> list[dict[str, Any]]:
        """Leases, optionally of one reviewer or only those that expired before an ISO time."""
        where, params = [], []
        if reviewer is not None:
            where.append("reviewer = ?")
            params.append(reviewer)
        if expired_before is not None:
            where.append("expires_at < ?")
            params.append(expired_before)
        sql = "SELECT * FROM review_claims" + self._where(where)
        return self._rows(sql + " ORDER BY claimed_at", params)

    def set_claim(self, paper_id: str, reviewer: str, expires_at: str, status_before: str,
                  reviewer_before: str | None = None) -> None:
        """Create or renew a lease (call inside the transaction that changes the record)."""
        with self.write():
            self.db.execute(
                "INSERT OR REPLACE INTO review_claims (paper_id, reviewer, claimed_at, expires_at, status_before, "
                "reviewer_before) VALUES (?, ?, coalesce((SELECT claimed_at FROM review_claims WHERE paper_id = ? "
                "AND reviewer = ?), ?), ?, ?, ?)",
                [paper_id, reviewer, paper_id, reviewer, utcnow(), expires_at, status_before, reviewer_before],
            )

    def drop_claim(self, paper_id: str) -> None:
        """Release the lease on a record (the caller restores its status in the same transaction)."""
        with self.write():
            self.db.execute("DELETE FROM review_claims WHERE paper_id = ?", [paper_id])

    def add_double_review(self, row: dict[str, Any]) -> bool:
        """Draw a record into the double-review sample; False if it was drawn already."""
        with self.write():
            cur = self.db.execute(insert_sql("double_reviews", tuple(row), verb="INSERT OR IGNORE"), list(row.values()))
            return cur.rowcount == 1

    def complete_double_review(self, paper_id: str, reviewer: str, decision: str, label: str, content_json: str) -> bool:
        """Store the second decision once; False when someone else gave it first."""
        with self.write():
            cur = self.db.execute(
                "UPDATE double_reviews SET second_reviewer = ?, second_decision = ?, second_label = ?, "
                "second_content = ?, second_at = ? WHERE paper_id = ? AND second_at IS NULL AND first_reviewer != ?",
                [reviewer, decision, label, content_json, utcnow(), paper_id, reviewer],
            )
            return cur.rowcount == 1

    def double_reviews(self, *, pending: bool | None = None, exclude_reviewer: str | None = None,
                       paper_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Rows of the double-review sample: all, only pending, or only completed ones."""
        where: list[str] = []
        params: list[Any] = []
        if paper_id is not None:
            where.append("paper_id = ?")
            params.append(paper_id)
        if pending is True:
            where.append("second_at IS NULL")
        elif pending is False:
            where.append("second_at IS NOT NULL")
        if exclude_reviewer is not None:
            where.append("first_reviewer != ?")
            params.append(exclude_reviewer)
        sql = "SELECT * FROM double_reviews" + self._where(where) + " ORDER BY drawn_at, paper_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self._rows(sql, params)


    def drop_double_review(self, paper_id: str) -> None:
        """Withdraw a record from the double-review sample while its second review is pending
        (its first decision was undone)."""
        with self.write():
            self.db.execute("DELETE FROM double_reviews WHERE paper_id = ? AND second_at IS NULL", [paper_id])
