"""Synthetic records for the scale benchmark: realistic JSON, country mixes, review states.

A million records cannot come from PDFs in a benchmark's time, so they are written
directly in the store's row layout (:meth:`extractor.store.Store.bulk_load_records`). Each
record looks like one reconcile writes (authors, affiliations and model mentions with
their evidence, review reasons, provenance; about 3 KB of JSON) and the mix is that of a
corpus part-way through review:

- countries: 1 to 4 per paper drawn from a weighted list of 40 (US, CN, GB, DE, ... with
  HK, MO and TW so the grouping policy matters), about 3% of papers with both US and CN
  authors, 5% of affiliations unresolved, and authors pointing at their affiliations so
  first/last-author counting has something to read;
- status: about 78% machine, 15% queued, 0.3% in review, 5% verified, 0.7% rejected and
  0.2% failed; the audit sample is about 2% verified plus 1% still queued;
- every record has the log of a real one: created, routed (rewritten by routing), and for
  a verified or rejected record a person's change whose ``before`` is the machine's
  version, which differs from the person's in about one audited record in ten (a country
  missed or added), so the estimator's disagreement cells are not empty;
- a ``review_signals`` row per machine-owned record, shaped like reconcile's.

Deterministic for a seed: the same seed gives byte-identical rows.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections.abc import Iterator
from typing import Any

COUNTRIES: list[tuple[str, float]] = [
    ("US", 30.0), ("CN", 16.0), ("GB", 6.0), ("DE", 6.0), ("CA", 4.0), ("FR", 4.0), ("JP", 3.0), ("KR", 3.0),
    ("CH", 3.0), ("IN", 3.0), ("HK", 2.0), ("SG", 2.0), ("IL", 2.0), ("AU", 2.0), ("NL", 2.0), ("IT", 2.0),
    ("ES", 1.5), ("TW", 1.0), ("SE", 1.0), ("AT", 0.8), ("BE", 0.6), ("DK", 0.6), ("FI", 0.5), ("NO", 0.4),
    ("BR", 0.5), ("RU", 0.5), ("PL", 0.4), ("IE", 0.4), ("PT", 0.3), ("CZ", 0.3), ("GR", 0.3), ("TR", 0.3),
    ("IR", 0.3), ("SA", 0.3), ("AE", 0.3), ("MX", 0.2), ("CL", 0.2), ("ZA", 0.2), ("NZ", 0.2), ("MO", 0.2),
]
_CODES = [c for c, _ in COUNTRIES]
_CUM = list(itertools.accumulate(w for _, w in COUNTRIES))
#: Distinct countries per paper: 1 (62%), 2 (28%), 3 (8%), 4 (2%).
_N_COUNTRIES = ([1, 2, 3, 4], list(itertools.accumulate([62, 28, 8, 2])))
#: Papers drawn with both US and CN (unresolved affiliations bring the result near 3%).
US_CN_DRAW = 0.034
#: Rows per independently seeded chunk: chunks can be generated in parallel, same rows.
CHUNK = 5_000

VENUES = [("NeurIPS", 30), ("ICML", 20), ("ICLR", 15), ("CVPR", 15), ("ACL", 10), ("AAAI", 10)]
YEARS = list(range(2016, 2025))

#: (family, developer, developer country)
FAMILIES = [
    ("Transformer", "Google", "US"), ("BERT", "Google", "US"), ("ResNet", "Microsoft Research", "US"),
    ("GPT", "OpenAI", "US"), ("Llama", "Meta", "US"), ("Qwen", "Alibaba", "CN"), ("ERNIE", "Baidu", "CN"),
    ("DeepSeek", "DeepSeek", "CN"), ("AlexNet", "University of Toronto", "CA"), ("ViT", "Google", "US"),
    ("T5", "Google", "US"), ("Mistral", "Mistral AI", "FR"), ("GloVe", "Stanford University", "US"),
    ("YOLO", "University of Washington", "US"), ("Yi", "01.AI", "CN"), ("CLIP", "OpenAI", "US"),
    ("Diffusion", None, None), ("LSTM", None, None),
]
ROLES = [(None, 30), ("used", 25), ("compared", 20), ("cited-only", 15), ("fine-tuned", 7), ("proposed", 3)]

#: status -> share of records (the rest of the review state is decided per status below)
STATUSES = [("machine", 780), ("queued", 150), ("in_review", 3), ("verified", 50), ("rejected", 7), ("failed", 2)]
SECTORS = ["academia", "academia", "academia", "industry", "government", "nonprofit"]
REASONS = [
    ("ungrounded_affiliation", "affiliation text not found on page 1"),
    ("company_no_site", "company without a named site, headquarters country used"),
    ("country_from_email", "country taken from the e-mail domain only"),
    ("backends_disagree", "the backends found different country sets"),
]


_PICKS: dict[int, tuple[list[Any], list[float]]] = {}


def _weighted(rng: random.Random, pairs: list[tuple[Any, float]]) -> Any:
    values, cum = _PICKS.get(id(pairs)) or _PICKS.setdefault(
        id(pairs), ([p for p, _ in pairs], list(itertools.accumulate(w for _, w in pairs))))
    return rng.choices(values, cum_weights=cum)[0]


def _country(rng: random.Random) -> str:
    return rng.choices(_CODES, cum_weights=_CUM)[0]


def _country_set(rng: random.Random) -> list[str]:
    """1-4 distinct countries; US and CN together in about US_CN_DRAW of papers."""
    if rng.random() < US_CN_DRAW:
        extra = rng.choices([0, 1, 2], [70, 25, 5])[0]
        out = {"US", "CN"}
        while len(out) < 2 + extra:
            out.add(_country(rng))
        return sorted(out)
    n = rng.choices([1, 2, 3, 4], cum_weights=_N_COUNTRIES[1])[0]
    while True:
        out: set[str] = set()
        while len(out) < n:
            out.add(_country(rng))
        if not {"US", "CN"} <= out:
            return sorted(out)


def _evidence(start: int, length: int, *, source: str = "front") -> dict[str, Any]:
    if source == "full":
        return {"source": "full", "page": 0, "start": start, "end": start + length, "alignment": "exact"}
    x, y = 72.0 + start % 300, 60.0 + (start // 7) % 240
    return {"source": source, "page": 0, "start": start, "end": start + length,
            "bbox": [x, y, round(x + 6.1 * length, 2), y + 14.2], "alignment": "exact", "score": 100.0}


def content(rng: random.Random, i: int, countries: list[str]) -> dict[str, Any]:
    """Title, authors, affiliations and model mentions of one paper (the part people edit)."""
    title = f"Synthetic paper {i}: {rng.choice(['Learning', 'Scaling', 'Robust', 'Efficient', 'Sparse'])} " \
            f"{rng.choice(['Transformers', 'Graphs', 'Agents', 'Retrieval', 'Vision'])} for " \
            f"{rng.choice(['Reasoning', 'Translation', 'Control', 'Detection', 'Generation'])}"
    codes: list[str | None] = list(countries)
    codes += rng.choices(countries or [None], k=rng.choices([0, 1, 2], [60, 30, 10])[0])
    affiliations = []
    pos = len(title) + 1
    for j, code in enumerate(codes):
        if code is not None and rng.random() < 0.05:
            code = None  # an affiliation nobody resolved to a country
        inst = f"Institute {rng.randrange(5000)}"
        raw = f"Department of Computer Science, {inst}, City {rng.randrange(900)}, {code or 'Somewhere'}"
        aff: dict[str, Any] = {"id": j, "raw": raw, "institution": inst, "city": f"City {rng.randrange(900)}"}
        if code:
            aff["country"] = code
        aff |= {"sector": rng.choice(SECTORS), "institution_method": "gazetteer_exact", "institution_score": 100.0,
                "country_method": "gazetteer_exact" if code else "unknown", "evidence": _evidence(pos, len(raw))}
        pos += len(raw) + 1
        affiliations.append(aff)
    n_authors = max(len(affiliations), rng.choices(range(1, 9), [8, 14, 18, 18, 14, 12, 9, 7])[0])
    authors = []
    for k in range(n_authors):
        first = k % len(affiliations) if affiliations else None
        ids = [] if first is None else [first]
        if affiliations and rng.random() < 0.15:
            ids = sorted({*ids, rng.randrange(len(affiliations))})
        name = f"Author {k + 1} of {i}"
        authors.append({"name": name, "affiliation_ids": ids, "email": f"a{k + 1}.{i}@example.org",
                        "evidence": _evidence(pos, len(name))})
        pos += len(name) + 1
    mentions = []
    for family, developer, dev_country in rng.sample(FAMILIES, rng.choices([0, 1, 2, 3, 4], [30, 30, 20, 12, 8])[0]):
        m: dict[str, Any] = {"name": family, "family": family}
        if developer:
            m["developer"] = developer
        if dev_country:
            m["developer_country"] = dev_country
        role = _weighted(rng, ROLES)
        if role:
            m["role"] = role
        m |= {"where": "body", "count": rng.randrange(1, 6),
              "evidence": _evidence(rng.randrange(500, 20000), len(family), source="full")}
        mentions.append(m)
    return {"title": title, "title_evidence": _evidence(0, len(title)), "authors": authors,
            "affiliations": affiliations, "model_mentions": mentions}


def _machine_version(rng: random.Random, human: dict[str, Any], wrong: bool) -> dict[str, Any]:
    """What the machine had said before a person verified ``human`` (a country off when ``wrong``)."""
    if not wrong or not human["affiliations"]:
        return human
    affs = [dict(a) for a in human["affiliations"]]
    j = rng.randrange(len(affs))
    if "country" in affs[j] and rng.random() < 0.6:
        del affs[j]["country"]  # the machine missed this affiliation's country
    else:
        affs[j]["country"] = _country(rng)  # ... or put it in the wrong country
    return {**human, "affiliations": affs}


def _codes_of(c: dict[str, Any]) -> list[str]:
    return sorted({a["country"] for a in c["affiliations"] if a.get("country")})


def rows(n: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """``n`` rows for :meth:`~extractor.store.Store.bulk_load_records`, deterministic for ``seed``."""
    for chunk in range((n + CHUNK - 1) // CHUNK):
        yield from chunk_rows(chunk, n, seed)


def chunk_rows(chunk: int, n: int, seed: int = 1) -> list[dict[str, Any]]:
    """The rows of one :data:`CHUNK` of :func:`rows` (each chunk seeded on its own, so
    chunks can be generated in parallel and still give the same rows)."""
    rng = random.Random(f"{seed}:{chunk}")
    return [_row(rng, i, seed) for i in range(chunk * CHUNK, min(n, (chunk + 1) * CHUNK))]


def _row(rng: random.Random, i: int, seed: int) -> dict[str, Any]:
    now = "2024-06-01T12:00:00.000+00:00"
    sha = hashlib.sha256(f"synthetic-{seed}-{i}".encode()).hexdigest()
    pid = sha[:16]
    status = _weighted(rng, STATUSES)
    audit = (status == "verified" and rng.random() < 0.4) or (status == "queued" and rng.random() < 0.066) \
        or (status == "rejected" and rng.random() < 0.15)
    human = content(rng, i, _country_set(rng) if rng.random() > 0.01 else [])
    reviewed = status in ("verified", "rejected")
    machine = _machine_version(rng, human, wrong=reviewed and rng.random() < 0.1) if reviewed else None
    reasons = []
    if status == "queued":
        if audit:
            reasons.append({"code": "audit_sample", "message": "drawn for the uniform audit sample",
                            "detail": {"u": round(rng.random() * 0.05, 6)}})
        else:
            code, msg = rng.choice(REASONS)
            reasons.append({"code": code, "message": msg, "detail": {}})
    confidence = round(rng.uniform(0.55, 0.99) if status == "machine" else rng.uniform(0.2, 0.95), 4)
    priority = round(rng.random() ** 3, 6) if status == "queued" else 0.0
    venue = _weighted(rng, VENUES)
    year = rng.choice(YEARS)
    provenance: dict[str, Any] = {"backend": "rules", "backends": ["rules"], "schema_version": "1",
                                  "extracted_at": now, "reconciled_at": now}
    if reviewed:
        provenance |= {"reviewer": rng.choice(["alice", "bob", "chen"]), "reviewed_at": now}
    record = {**human, "paper_id": pid, "sha256": sha, "source_file": f"synthetic-{i}.pdf", "venue": venue,
              "year": year, "status": status, "version": 3 if reviewed else 2, "confidence": confidence,
              "model_confidence": round(rng.uniform(0.5, 0.99), 4), "review_reasons": reasons,
              "audit": audit, "priority": priority, "provenance": provenance}
    data = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    codes = _codes_of(human)
    row: dict[str, Any] = {
        "paper_id": pid, "sha256": sha, "source_file": f"synthetic-{i}.pdf", "venue": venue, "year": year,
        "status": status, "confidence": confidence, "model_confidence": record["model_confidence"],
        "priority": priority, "audit": int(audit), "countries": "," + ",".join(codes) + "," if codes else ",",
        "reasons": "," + ",".join(r["code"] for r in reasons) + "," if reasons else ",",
        "title": human["title"], "data": data, "input_key": sha[:32],
        "reviewer": provenance.get("reviewer"), "reviewed_at": provenance.get("reviewed_at"), "updated_at": now,
        "routed": True,  # reconcile created it, routing rewrote it (as it does nearly every record)
    }
    if machine is not None:
        row["machine_content"] = json.dumps(machine, ensure_ascii=False, separators=(",", ":"))
        row["human_content"] = json.dumps(human, ensure_ascii=False, separators=(",", ":"))
        row["machine_status"] = "queued"
    if status in ("machine", "queued"):
        feats = {r["code"]: 1.0 for r in reasons if r["code"] != "audit_sample"}
        row["signals"] = {
            "paper_id": pid, "input_key": sha[:32], "countries": json.dumps(codes),
            "families": json.dumps(sorted({m["family"] for m in human["model_mentions"]})),
            "features": json.dumps(feats | {"single_backend": 1.0}),
            "model_features": json.dumps({"body_single": 1.0, "n_families": len(human["model_mentions"]) / 5}),
            "alternatives": json.dumps([{"set": codes[:-1], "wild": False, "why": "company_no_site"}]
                                       if len(codes) > 1 and rng.random() < 0.2 else []),
            "p_wrong": round(1 - confidence, 4), "p_wrong_models": round(1 - record["model_confidence"], 4),
            "impact": 0.5, "priority": priority, "audit_u": rng.random(), "audit": int(audit),
            "audit_drawn_at": now if audit else None, "computed_at": now, "routed_at": now,
        }
    return row
