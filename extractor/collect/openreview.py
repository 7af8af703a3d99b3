"""Collect a venue from OpenReview (API v2, through the official ``openreview-py`` client).

The venue's notes give each paper's title, authors and author ids (profile ids such as
``~Jane_Doe1``), the decision (``content.venue``, e.g. "NeurIPS 2024 poster") and a PDF.
Accepted papers carry ``content.venueid`` equal to the venue id; every public submission
answers the venue's ``/-/Submission`` invitation. Author profiles (names, institution
history with domains and years, e-mail domains) are fetched in batches through
``POST /profiles/search``; a profile id the service does not return is stored with an
empty history, so a re-run does not ask again. The client's ``requests`` session is
replaced by a :class:`~extractor.collect.http.PoliteSession`: its own urllib3 retries are
gone and every request takes a slot of the per-host rate limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from extractor.collect.base import CollectSummary, store_in_batches
from extractor.collect.http import CollectError, HostUnreachable, PoliteSession
from extractor.store import Store

#: The public API v2 endpoint.
DEFAULT_API_URL = "https://api2.openreview.net"
#: The web site, for forum links people open.
SITE_URL = "https://openreview.net"
#: Profile ids per ``/profiles/search`` request (the service accepts up to 1000).
PROFILE_BATCH = 100


def make_client(api_url: str, session: PoliteSession, *, username: str | None = None,
                password: str | None = None) -> Any:
    """An ``openreview.api.OpenReviewClient`` on ``api_url`` whose requests all go through ``session``.

    Credentials (arguments, else ``OPENREVIEW_USERNAME``/``OPENREVIEW_PASSWORD``, read by
    the client itself) are optional: public venues need none.
    """
    import openreview  # imported on use: a heavy import only this collector needs

    try:
        client = openreview.api.OpenReviewClient(baseurl=api_url, username=username, password=password)
    except openreview.OpenReviewException as exc:
        raise _explain(exc, api_url, what="log in") from None
    except Exception as exc:  # requests' connection errors during the login
        if _is_connection_error(exc):
            raise HostUnreachable(f"OpenReview API {api_url} is unreachable ({type(exc).__name__}); "
                                  "check the network or --api-url") from None
        raise
    client.session = session
    token = getattr(client, "token", None)
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return client


def _is_connection_error(exc: BaseException) -> bool:
    import requests

    return isinstance(exc, requests.ConnectionError | requests.Timeout)


def _error_fields(exc: BaseException) -> tuple[int | None, str, str]:
    """(status, name, message) of an ``OpenReviewException``, whose first argument is the API's error dict."""
    payload = exc.args[0] if exc.args else {}
    if isinstance(payload, list):
        payload = {"message": "; ".join(map(str, payload))}
    if not isinstance(payload, dict):
        payload = {"message": str(payload)}
    status = payload.get("status")
    return (int(status) if isinstance(status, int | str) and str(status).isdigit() else None,
            str(payload.get("name") or ""), str(payload.get("message") or ""))


def _explain(exc: BaseException, api_url: str, *, what: str, venue_id: str | None = None) -> CollectError:
    status, name, message = _error_fields(exc)
    if status in (401, 403) or name in ("ForbiddenError", "UnauthorizedError", "MfaRequiredError") or \
            "login" in message.lower():
        return CollectError(f"OpenReview refused to {what} without a login ({status or name}: {message}); set "
                            "OPENREVIEW_USERNAME and OPENREVIEW_PASSWORD (an OpenReview account) and re-run")
    if status == 404 or name == "NotFoundError":
        if venue_id:
            return CollectError(f"venue {venue_id!r} does not exist on OpenReview ({api_url}); check the id, e.g. "
                                "NeurIPS.cc/2024/Conference (the group id in the venue page's URL)")
        return CollectError(f"OpenReview {api_url}: not found ({message})")
    return CollectError(f"OpenReview {api_url} failed to {what}: {status or name or 'error'} {message}".strip())


def _value(content: dict[str, Any], key: str) -> Any:
    """A note content field's value (API v2 wraps every field as ``{"value": ...}``)."""
    field = content.get(key)
    if isinstance(field, dict):
        return field.get("value")
    return field


def _year(venue_id: str, *stamps: int | None) -> int | None:
    m = re.search(r"(?:^|/)((?:19|20)\d\d)(?:/|$)", venue_id)
    if m:
        return int(m.group(1))
    for ms in stamps:
        if ms:
            return datetime.fromtimestamp(ms / 1000, UTC).year
    return None


def _date(*stamps: int | None) -> str | None:
    for ms in stamps:
        if ms:
            return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()
    return None


def note_row(note: Any, *, venue_id: str, api_url: str) -> dict[str, Any]:
    """A ``venue_papers`` row from an API v2 submission note."""
    content = note.content or {}
    names = _value(content, "authors") or []
    ids = _value(content, "authorids") or []
    authors = []
    for i, name in enumerate(names):
        aid = ids[i] if i < len(ids) else None
        email_domain = aid.rsplit("@", 1)[1].lower() if isinstance(aid, str) and "@" in aid else None
        authors.append({"name": name, "id": aid, "email_domain": email_domain, "affiliations": []})
    pdf = _value(content, "pdf")
    pdate, cdate = getattr(note, "pdate", None), getattr(note, "cdate", None)
    return {
        "source": "openreview",
        "source_id": note.id,
        "venue": venue_id,
        "year": _year(venue_id, pdate, cdate),
        "title": _value(content, "title"),
        "decision": _value(content, "venue"),
        "pdf_url": f"{api_url.rstrip('/')}/pdf?id={note.id}" if pdf else None,
        "site_url": f"{SITE_URL}/forum?id={getattr(note, 'forum', None) or note.id}",
        "authors": authors,
        "source_countries": [],
        "extra": {"venueid": _value(content, "venueid"), "number": getattr(note, "number", None),
                  "pdate": pdate, "cdate": cdate, "date": _date(pdate, cdate),
                  "abstract": _value(content, "abstract")},
    }


def profile_row(profile: Any) -> dict[str, Any]:
    """An ``author_profiles`` row from an OpenReview profile: names, institution history, e-mail domains."""
    content = profile.content or {}
    names = []
    for n in sorted(content.get("names") or [], key=lambda n: not n.get("preferred")):
        full = n.get("fullname") or " ".join(p for p in (n.get("first"), n.get("middle"), n.get("last")) if p)
        if full and full not in names:
            names.append(full)
    history = []
    for h in content.get("history") or []:
        inst = h.get("institution") or {}
        history.append({"position": h.get("position"), "institution": inst.get("name"),
                        "domain": (inst.get("domain") or "").lower() or None, "country": inst.get("country"),
                        "start": h.get("start"), "end": h.get("end")})
    domains = []
    for email in list(content.get("emailsConfirmed") or []) + list(content.get("emails") or []):
        if isinstance(email, str) and "@" in email:
            d = email.rsplit("@", 1)[1].lower()
            if d not in domains:
                domains.append(d)
    return {"profile_id": profile.id, "source": "openreview", "names": names, "history": history,
            "email_domains": domains}


def _aliases(profile: Any) -> set[str]:
    """Every tilde id of a profile (merged profiles answer to several)."""
    out = {profile.id}
    for n in (profile.content or {}).get("names") or []:
        if n.get("username"):
            out.add(n["username"])
    return out


def list_notes(client: Any, venue_id: str, *, accepted_only: bool, api_url: str) -> list[Any]:
    """The venue's notes: accepted papers (``content.venueid``) or every public submission.

    Asks for the venue group first, so a venue id that does not exist is one clear error
    instead of an empty list; a venue with nothing to list (decisions not out, or an API v1
    venue) is one clear error too.
    """
    import openreview

    try:
        client.get_group(venue_id)
        if accepted_only:
            notes = client.get_all_notes(content={"venueid": venue_id})
        else:
            notes = client.get_all_notes(invitation=f"{venue_id}/-/Submission")
    except openreview.OpenReviewException as exc:
        raise _explain(exc, api_url, what=f"list venue {venue_id}", venue_id=venue_id) from None
    if not notes:
        what = "accepted papers (content.venueid)" if accepted_only else "public submissions"
        raise CollectError(f"venue {venue_id} exists but lists no {what} on API v2 ({api_url}); decisions may not "
                           "be public yet, or the venue predates API v2 (before 2023 most venues are on API v1, "
                           "https://api.openreview.net, which this collector does not read)")
    return notes


def fetch_profiles(client: Any, store: Store, ids: Iterable[str], summary: CollectSummary, *,
                   batch: int = PROFILE_BATCH, api_url: str = DEFAULT_API_URL,
                   on_total: Callable[[int], None] | None = None,
                   on_progress: Callable[..., None] | None = None) -> None:
    """Fetch and store the profiles of ``ids`` not stored yet, ``batch`` ids per request, one commit per batch."""
    import openreview

    have = store.author_profile_ids()
    todo = sorted({i for i in ids if isinstance(i, str) and i.startswith("~")} - have)
    if on_total:
        on_total(len(todo))
    for start in range(0, len(todo), batch):
        chunk = todo[start:start + batch]
        try:
            profiles = client.search_profiles(ids=chunk)
        except openreview.OpenReviewException as exc:
            raise _explain(exc, api_url, what="fetch author profiles") from None
        rows = []
        found: set[str] = set()
        for profile in profiles:
            row = profile_row(profile)
            for alias in _aliases(profile) & set(chunk) | {profile.id}:
                rows.append({**row, "profile_id": alias})
                found.add(alias)
        missing = [i for i in chunk if i not in found]
        rows += [{"profile_id": i, "source": "openreview", "names": [], "history": [], "email_domains": []}
                 for i in missing]
        store.upsert_author_profiles(rows)
        summary.profiles_fetched += len(chunk) - len(missing)
        summary.profiles_missing += len(missing)
        if on_progress:
            for _ in chunk:
                on_progress()


def collect_openreview(store: Store, client: Any, venue_id: str, *, accepted_only: bool = False,
                       api_url: str = DEFAULT_API_URL, profiles: bool = True, run_id: int | None = None,
                       progress: Callable[[str], Any] | None = None) -> CollectSummary:
    """List a venue's papers into the store and fetch the author profiles it lacks (PDFs are a separate step).

    ``progress(name)`` returns a context manager yielding ``(on_total, on_progress)``
    (the CLI's progress bar); None runs silently.
    """
    summary = CollectSummary(source="openreview", venue=venue_id)
    notes = list_notes(client, venue_id, accepted_only=accepted_only, api_url=api_url)
    before = store.venue_paper_keys("openreview")
    rows = [note_row(n, venue_id=venue_id, api_url=api_url) for n in notes]
    summary.listed = len(rows)
    summary.new = sum(1 for r in rows if f"openreview:{r['source_id']}" not in before)
    summary.year = next((r["year"] for r in rows if r["year"]), _year(venue_id))
    store_in_batches(store, rows, run_id=run_id)
    if profiles:
        ids = {a["id"] for r in rows for a in r["authors"] if a.get("id")}
        if progress is None:
            fetch_profiles(client, store, ids, summary, api_url=api_url)
        else:
            with progress("profiles") as (on_total, on_progress):
                fetch_profiles(client, store, ids, summary, api_url=api_url, on_total=on_total,
                               on_progress=on_progress)
    return summary
