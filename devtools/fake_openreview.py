"""A fake OpenReview API v2 on loopback, for tests of ``collabscope collect openreview``.

It answers the endpoints the ``openreview-py`` client calls, with the API v2 shapes:

- ``GET /groups?id=VENUE`` -> ``{"groups": [{"id": ...}]}``; an unknown id -> 404
  ``{"name": "NotFoundError", "message": ..., "status": 404}``;
- ``GET /notes?content.venueid=V`` or ``?invitation=V/-/Submission``, with ``sort=id``,
  ``limit``, ``after`` (the client pages by the last id) and ``count=true`` ->
  ``{"notes": [...], "count": N}``; note fields are ``{"value": ...}`` objects
  (``title``, ``authors``, ``authorids``, ``venue``, ``venueid``, ``pdf``);
- ``POST /profiles/search {"ids": [...]}`` and ``GET /profiles?id=`` -> ``{"profiles": [...]}``
  (``content.names`` with ``fullname``/``username``/``preferred``, ``content.history`` with
  ``position``, ``start``, ``end`` and ``institution: {name, domain, country}``,
  ``content.emails`` obfuscated like ``****@cmu.edu``); unknown ids are left out;
- ``GET /pdf?id=NOTE`` -> the PDF bytes.

``require_login=True`` makes every read answer 403 ``ForbiddenError`` (a venue that needs
an account). Data comes from :func:`demo_venue` or the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from devtools.fake_http import FakeService, Reply, json_reply


def note(note_id: str, *, title: str, authors: list[str], authorids: list[str], venue: str, venueid: str,
         number: int = 1, pdf: bool = True, pdate: int | None = 1730000000000) -> dict[str, Any]:
    """An API v2 submission note."""
    content: dict[str, Any] = {
        "title": {"value": title},
        "authors": {"value": authors},
        "authorids": {"value": authorids},
        "venue": {"value": venue},
        "venueid": {"value": venueid},
        "abstract": {"value": f"Abstract of {title}."},
    }
    if pdf:
        content["pdf"] = {"value": f"/pdf/{note_id}.pdf"}
    return {"id": note_id, "forum": note_id, "number": number, "cdate": (pdate or 1700000000000) - 10**9,
            "pdate": pdate, "mdate": pdate, "tcdate": pdate, "tmdate": pdate,
            "invitations": [f"{venueid.split('/Rejected')[0]}/-/Submission"],
            "domain": venueid.split("/Rejected")[0], "readers": ["everyone"], "writers": [], "signatures": [],
            "content": content}


def profile(profile_id: str, fullname: str, history: list[dict[str, Any]],
            email_domains: list[str] = (), aliases: list[str] = ()) -> dict[str, Any]:
    """A public profile as ``/profiles/search`` returns it."""
    names = [{"fullname": fullname, "username": profile_id, "preferred": True}]
    names += [{"fullname": fullname, "username": a, "preferred": False} for a in aliases]
    return {"id": profile_id, "active": True, "tcdate": 1600000000000, "tmdate": 1700000000000,
            "content": {"names": names, "history": history,
                        "emails": [f"****@{d}" for d in email_domains],
                        "preferredEmail": f"****@{email_domains[0]}" if email_domains else None}}


def position(name: str, domain: str, *, start: int | None, end: int | None = None, title: str = "PhD student",
             country: str | None = None) -> dict[str, Any]:
    inst: dict[str, Any] = {"name": name, "domain": domain}
    if country:
        inst["country"] = country
    return {"position": title, "start": start, "end": end, "institution": inst}


def demo_venue(venue_id: str = "NeurIPS.cc/2024/Conference", n: int = 5) -> tuple[list[dict], list[dict]]:
    """``n`` accepted papers and one rejected submission, with their authors' profiles (one id has no profile)."""
    notes, profiles = [], []
    for i in range(n):
        a, b = f"~Alice_Author{i}", f"~Bob_Builder{i}"
        notes.append(note(f"paper{i:04d}", title=f"Paper number {i}", authors=[f"Alice Author{i}", f"Bob Builder{i}"],
                          authorids=[a, b], venue="NeurIPS 2024 poster", venueid=venue_id, number=i + 1))
        profiles.append(profile(a, f"Alice Author{i}", [position("Tsinghua University", "tsinghua.edu.cn", start=2020),
                                                        position("Google", "google.com", start=2016, end=2019,
                                                                 title="Engineer")], ["tsinghua.edu.cn"]))
        if i != 0:  # ~Bob_Builder0 has no profile
            profiles.append(profile(b, f"Bob Builder{i}", [position("Carnegie Mellon University", "cmu.edu",
                                                                    start=2018)], ["cmu.edu"]))
    notes.append(note("rejected01", title="A rejected paper", authors=["Carol C"], authorids=["carol@example.org"],
                      venue="Submitted to NeurIPS 2024", venueid=f"{venue_id}/Rejected_Submission", number=n + 1))
    return notes, profiles


class FakeOpenReview(FakeService):
    """The fake API v2 service: ``notes``, ``profiles`` and ``pdfs`` by note id are plain attributes."""

    def __init__(self, notes: list[dict[str, Any]] | None = None, profiles: list[dict[str, Any]] | None = None, *,
                 venues: list[str] | None = None, pdf: Callable[[str], bytes] | None = None,
                 require_login: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.notes = list(notes or [])
        self.profiles = list(profiles or [])
        self.venues = set(venues or {n["content"]["venueid"]["value"].split("/Rejected")[0] for n in self.notes})
        self.pdf = pdf or minimal_pdf
        self.require_login = require_login

    def route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Reply:
        q = {k: v[-1] for k, v in query.items()}
        if path == "/login" and method == "POST":
            return json_reply({"token": "fake-token", "user": {"id": "~Test_User1", "profile": {"id": "~Test_User1"}}})
        if self.require_login:
            return json_reply({"name": "ForbiddenError", "message": "You must be logged in to access this resource",
                               "status": 403}, 403)
        if path == "/groups":
            gid = q.get("id", "")
            if gid not in self.venues:
                return json_reply({"name": "NotFoundError", "message": f"Group Not Found: {gid}", "status": 404}, 404)
            return json_reply({"groups": [{"id": gid, "members": [], "readers": ["everyone"], "writers": [gid],
                                           "signatures": ["~Super_User1"], "signatories": [gid], "domain": gid,
                                           "content": {}}]})
        if path == "/notes":
            return json_reply(self._notes(q))
        if path == "/profiles/search" and method == "POST":
            ids = set(json.loads(body or b"{}").get("ids") or [])
            return json_reply({"profiles": [p for p in self.profiles if self._names(p) & ids]})
        if path in ("/profiles", "/profiles/search"):
            wanted = q.get("id") or q.get("term") or ""
            return json_reply({"profiles": [p for p in self.profiles if wanted in self._names(p)]})
        if path == "/pdf":
            nid = q.get("id", "")
            if not any(n["id"] == nid for n in self.notes):
                return json_reply({"name": "NotFoundError", "message": "Note not found", "status": 404}, 404)
            return Reply(200, self.pdf(nid), "application/pdf")
        return json_reply({"name": "NotFoundError", "message": f"no route {path}", "status": 404}, 404)

    @staticmethod
    def _names(p: dict[str, Any]) -> set[str]:
        return {p["id"]} | {n.get("username") for n in p["content"].get("names", []) if n.get("username")}

    def _notes(self, q: dict[str, str]) -> dict[str, Any]:
        notes = self.notes
        if "content.venueid" in q:
            notes = [n for n in notes if n["content"]["venueid"]["value"] == q["content.venueid"]]
        if "invitation" in q:
            notes = [n for n in notes if q["invitation"] in n["invitations"]]
        if "id" in q:
            notes = [n for n in notes if n["id"] == q["id"]]
        notes = sorted(notes, key=lambda n: n["id"])
        count = len(notes)
        if "after" in q:
            notes = [n for n in notes if n["id"] > q["after"]]
        if "offset" in q:
            notes = notes[int(q["offset"]):]
        limit = int(q.get("limit") or 1000)
        out: dict[str, Any] = {"notes": notes[:limit]}
        if q.get("count") == "true":
            out["count"] = count
        return out


def minimal_pdf(key: str) -> bytes:
    """A small valid one-page PDF whose text names ``key`` (so every paper has distinct bytes)."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 90), f"Paper {key}", fontsize=17)
    page.insert_text((72, 130), "Alice Author, Bob Builder", fontsize=11)
    page.insert_text((72, 146), "Tsinghua University, Beijing, China", fontsize=10)
    data = doc.tobytes(garbage=3, deflate=True, no_new_id=True)
    doc.close()
    return data


if __name__ == "__main__":  # pragma: no cover - manual use: python -m devtools.fake_openreview
    import time

    fake = FakeOpenReview(*demo_venue()).start()
    print(f"fake OpenReview API v2 at {fake.url} (venue NeurIPS.cc/2024/Conference); Ctrl-C stops", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()
