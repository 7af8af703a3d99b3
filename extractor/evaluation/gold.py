"""Evaluate: score what collabscope extracted against gold labels, and list the misses.

Gold is JSONL in the format of the real-PDF gold set (one object per paper: ``id``,
``title``, ``authors[{name, affiliations: [idx], email}]``, ``affiliations[{raw,
institution, country}]``, ``countries``, ``model_mentions[{family, tier?}]``, and for
generated corpora ``source_file`` and ``layout``). Predictions are the reconciled records
in the database, or one backend's raw extractions (``backend="rules"``).

How papers, authors and names are matched (the same rules are printed in
docs/ACCURACY.md, "How we measure"):

* A gold paper matches a document by ``source_file``, else by its ``id`` (or the file
  name of ``source.path``) equal to the file stem, else by a fuzzy title match (normalised
  titles, similarity >= 90, best unique). An unmatched gold paper counts as wrong.
* Authors are aligned by name (accents folded, case ignored, token order ignored; or
  same surname and first initial), greedily by score; an unaligned gold author is wrong.
* Institutions compare by canonical name: the resolver's gazetteer name for a name or
  alias it knows (so "DeepMind" == "Google DeepMind", "MIT" == "Massachusetts Institute
  of Technology"), else the normalised text. Scored per paper as sets, micro-averaged.
* Model families compare case- and punctuation-insensitively (through the taxonomy's
  canonical family when it knows the name). When gold marks tiers, only ``core`` gold
  families count; predicted families the gold lists as ``extended`` are ignored.
* Countries: HK, MO and TW are their own codes (no grouping) unless asked.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from extractor.errors import ConfigError
from extractor.resolve.text import key as name_key
from extractor.resolve.text import strip_accents
from extractor.schemas import PaperContent, group_country
from extractor.store import Store

TITLE_MATCH = 90.0
AUTHOR_MATCH = 82.0


# --------------------------------------------------------------------------- inputs


@dataclass
class Prediction:
    """What the tool says about one document, reduced to what the metrics compare."""

    paper_id: str
    source_file: str
    title: str | None = None
    authors: list[tuple[str, list[str], str | None]] = field(default_factory=list)  # name, countries, email
    countries: list[str] = field(default_factory=list)
    institutions: list[str] = field(default_factory=list)
    families: list[str] = field(default_factory=list)
    status: str | None = None
    error: str | None = None


def prediction_from_content(content: PaperContent | None, *, paper_id: str, source_file: str,
                            status: str | None = None, error: str | None = None,
                            group_hk_mo_with_cn: bool = False) -> Prediction:
    """Reduce a record or an extraction to a :class:`Prediction`."""
    if content is None:
        return Prediction(paper_id, source_file, status=status, error=error)
    per_author = content.author_countries(group_hk_mo_with_cn)
    return Prediction(
        paper_id=paper_id,
        source_file=source_file,
        title=content.title,
        authors=[(a.name, per_author[i], a.email) for i, a in enumerate(content.authors)],
        countries=content.countries(group_hk_mo_with_cn),
        institutions=[a.institution or a.raw for a in content.affiliations],
        families=[m.family for m in content.model_mentions],
        status=status,
        error=error,
    )


def predictions_from_store(store: Store, backend: str | None = None, *,
                           group_hk_mo_with_cn: bool = False) -> list[Prediction]:
    """Reconciled records (any status), or with ``backend`` that backend's latest extractions.

    Documents that failed ingest (or have no result) appear with ``error`` so that a gold
    paper pointing at them is reported as "no record" rather than silently skipped.
    """
    out: list[Prediction] = []
    docs = {r["sha256"]: r for r in store.document_index()}
    seen: set[str] = set()
    if backend is None:
        for rec in store.iter_records():
            seen.add(rec.sha256)
            out.append(prediction_from_content(rec, paper_id=rec.paper_id, source_file=rec.source_file,
                                               status=rec.status.value, error=rec.error,
                                               group_hk_mo_with_cn=group_hk_mo_with_cn))
    else:
        for sha, ext in store.latest_extractions(backend).items():
            seen.add(sha)
            doc = docs.get(sha, {})
            out.append(prediction_from_content(ext, paper_id=sha[:16], source_file=doc.get("source_file", ""),
                                               status=backend, group_hk_mo_with_cn=group_hk_mo_with_cn))
    for sha, doc in docs.items():
        if sha not in seen:
            out.append(Prediction(sha[:16], doc["source_file"],
                                  error=doc["error"] or ("no extraction by " + backend if backend else "no record")))
    return out


def load_gold(path: Path | str) -> list[dict[str, Any]]:
    """Gold JSONL, one paper per line; a bad line names its line number."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"gold file {path} does not exist")
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{n} is not valid JSON ({exc.msg}); fix or remove that line") from None
            problem = gold_shape_problem(row)
            if problem:
                raise ConfigError(f"{path}:{n} is not a gold paper: {problem}; the format is in docs/ACCURACY.md, "
                                  "\"How we measure\"")
            out.append(row)
    return out


def _is_list_of_dicts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def gold_shape_problem(row: Any) -> str | None:
    """What keeps one parsed line from being a gold paper, or None.

    Scoring reads these fields without further checks, so a file in another shape (a
    paperlists row, a list per line) is refused here with the field named, not deep in the
    scoring with a traceback.
    """
    if not isinstance(row, dict):
        return f"expected a JSON object, got {type(row).__name__}"
    for list_field in ("authors", "affiliations", "model_mentions"):
        if row.get(list_field) is not None and not _is_list_of_dicts(row[list_field]):
            return f"'{list_field}' must be a list of objects"
    n_affiliations = len(row.get("affiliations") or [])
    for i, author in enumerate(row.get("authors") or []):
        if not isinstance(author.get("name") or "", str):
            return f"authors[{i}].name must be a string"
        links = author.get("affiliations") or []
        if not isinstance(links, list) or not all(isinstance(k, int) and 0 <= k < n_affiliations for k in links):
            return f"authors[{i}].affiliations must list indices into 'affiliations' (0..{n_affiliations - 1})"
    countries = row.get("countries")
    if countries is not None and not (isinstance(countries, list) and all(isinstance(c, str) for c in countries)):
        return "'countries' must be a list of country codes"
    return None


# --------------------------------------------------------------------------- matching


def _title_key(title: str | None) -> str:
    return re.sub(r"[^a-z0-9 ]+", "", strip_accents(title or "").casefold().replace("-", " ")).strip()


def match_papers(gold: list[dict[str, Any]], preds: list[Prediction]) -> list[tuple[dict[str, Any], Prediction | None, str]]:
    """Pair every gold paper with a prediction: by file name, by id = file stem, by title."""
    by_file = {p.source_file: p for p in preds}
    by_stem = {Path(p.source_file).stem: p for p in preds}
    titled = [(p, _title_key(p.title)) for p in preds if p.title]
    out = []
    for g in gold:
        p, how = None, "unmatched"
        src = g.get("source_file")
        path_name = Path((g.get("source") or {}).get("path") or "").name
        gid = str(g.get("id") or "")
        if src and src in by_file:
            p, how = by_file[src], "file"
        elif gid and (gid in by_stem or re.sub(r"[^A-Za-z0-9._-]+", "-", gid) in by_stem):
            p, how = by_stem.get(gid) or by_stem[re.sub(r"[^A-Za-z0-9._-]+", "-", gid)], "id"
        elif path_name and path_name in by_file:
            p, how = by_file[path_name], "file"
        elif g.get("title"):
            want = _title_key(g["title"])
            scored = sorted(((fuzz.ratio(want, t), id(q), q) for q, t in titled), key=lambda x: -x[0])
            if scored and scored[0][0] >= TITLE_MATCH and (len(scored) == 1 or scored[1][0] < scored[0][0]):
                p, how = scored[0][2], "title"
        out.append((g, p, how))
    return out


def _person_key(name: str) -> str:
    return " ".join(re.findall(r"[a-z]+", strip_accents(name).casefold()))


def _name_score(a: str, b: str) -> float:
    ka, kb = _person_key(a), _person_key(b)
    if not ka or not kb:
        return 0.0
    score = fuzz.token_sort_ratio(ka, kb)
    ta, tb = ka.split(), kb.split()
    if ta[-1] == tb[-1] and ta[0][0] == tb[0][0]:
        score = max(score, 90.0)
    return float(score)


def align_authors(gold_names: list[str], pred_names: list[str]) -> dict[int, int]:
    """Gold author index -> predicted author index, greedy by name similarity."""
    pairs = sorted(((_name_score(g, p), -abs(i - j), i, j) for i, g in enumerate(gold_names)
                    for j, p in enumerate(pred_names)), reverse=True)
    out: dict[int, int] = {}
    used: set[int] = set()
    for score, _, i, j in pairs:
        if score < AUTHOR_MATCH:
            break
        if i in out or j in used:
            continue
        out[i] = j
        used.add(j)
    return out


# --------------------------------------------------------------------------- canonical names


@lru_cache(maxsize=20000)
def canonical_institution(name: str) -> str:
    """The resolver's canonical name for a known institution, else the normalised text."""
    if not name or not name.strip():
        return ""
    try:
        from extractor.resolve import get_resolver

        resolver = get_resolver()
        entry = resolver.lookup(name)
        if entry is not None:
            return name_key(entry.name)
        res = resolver.resolve(name)
        if res.in_gazetteer and res.institution:
            return name_key(res.institution)
    except Exception:  # pragma: no cover - a broken gazetteer must not stop evaluation
        pass
    return name_key(name)


@lru_cache(maxsize=5000)
def canonical_family(name: str) -> str:
    """A model family compared without case or punctuation (via the taxonomy when it can)."""
    try:
        from extractor.resolve import get_taxonomy

        tax = get_taxonomy()
        info = tax.family(name) if tax is not None and hasattr(tax, "family") else None
        if info is not None:
            name = info.family
    except Exception:  # pragma: no cover
        pass
    return re.sub(r"[^a-z0-9]+", "", name.casefold())


# --------------------------------------------------------------------------- metrics


@dataclass
class Counts:
    """True/false positives and false negatives of a set-valued field, micro-averaged."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: set[str], pred: set[str]) -> None:
        self.tp += len(gold & pred)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": _r(self.precision),
                "recall": _r(self.recall), "f1": _r(self.f1)}


@dataclass
class Ratio:
    hit: int = 0
    n: int = 0

    @property
    def value(self) -> float | None:
        return self.hit / self.n if self.n else None

    def add(self, ok: bool) -> None:
        self.hit += int(ok)
        self.n += 1

    def as_dict(self) -> dict[str, Any]:
        return {"value": _r(self.value), "hit": self.hit, "n": self.n}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


@dataclass
class PaperMiss:
    """One paper where something differs from gold, with what was expected and what came out."""

    gold_id: str
    source_file: str | None
    matched_by: str
    countries_expected: list[str]
    countries_got: list[str]
    author_misses: list[dict[str, Any]] = field(default_factory=list)
    institutions_missing: list[str] = field(default_factory=list)
    institutions_extra: list[str] = field(default_factory=list)
    families_missing: list[str] = field(default_factory=list)
    families_extra: list[str] = field(default_factory=list)
    note: str | None = None

    @property
    def country_wrong(self) -> bool:
        return self.countries_expected != self.countries_got


@dataclass
class EvalReport:
    """Every figure `collabscope eval` prints; ``as_dict`` is its ``--json`` form."""

    source: str
    n_gold: int = 0
    n_matched: int = 0
    n_predictions: int = 0
    country_set_exact: Ratio = field(default_factory=Ratio)
    author_country: Ratio = field(default_factory=Ratio)
    author_names: Counts = field(default_factory=Counts)
    emails: Ratio = field(default_factory=Ratio)
    us_cn: Counts = field(default_factory=Counts)
    institutions: Counts = field(default_factory=Counts)
    families: Counts = field(default_factory=Counts)
    families_scope: str = "all"
    by_group: dict[str, Ratio] = field(default_factory=dict)
    misses: list[PaperMiss] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "n_gold": self.n_gold, "n_matched": self.n_matched,
            "n_predictions": self.n_predictions,
            "country_set_exact": self.country_set_exact.as_dict(),
            "author_country_accuracy": self.author_country.as_dict(),
            "author_names": self.author_names.as_dict(),
            "email_accuracy": self.emails.as_dict(),
            "us_cn_flag": self.us_cn.as_dict(),
            "institution": self.institutions.as_dict(),
            "model_family": self.families.as_dict() | {"scope": self.families_scope},
            "country_set_exact_by_layout": {k: v.as_dict() for k, v in sorted(self.by_group.items())},
            "misses": [asdict(m) for m in self.misses],
        }


def _gold_author_countries(g: dict[str, Any], group: bool) -> list[list[str]]:
    affs = g.get("affiliations") or []
    out = []
    for a in g.get("authors") or []:
        codes = {group_country((affs[i].get("country") if 0 <= i < len(affs) else None), group)
                 for i in a.get("affiliations") or []}
        out.append(sorted(c for c in codes if c))
    return out


def _gold_countries(g: dict[str, Any], group: bool) -> list[str]:
    codes = g.get("countries")
    if codes is None:
        codes = [a.get("country") for a in g.get("affiliations") or []]
    return sorted({c for c in (group_country(x, group) for x in codes) if c})


@lru_cache(maxsize=1)
def extended_scope() -> frozenset[str]:
    """Families the real-PDF gold puts in its best-effort ``extended`` tier by convention
    (its README: CNN backbones, recommender models, GloVe/fastText, beside the Transformer /
    foundation-model core), decided by the family's category in the taxonomy
    (:attr:`~extractor.resolve.models.FamilyInfo.extended_tier`), not by name. With tiered
    gold a predicted family of this scope is neither right nor wrong, because the gold does
    not list them exhaustively; everything else predicted and not in the core tier is wrong."""
    try:
        from extractor.resolve import get_taxonomy

        return frozenset(canonical_family(f.family) for f in get_taxonomy().families() if f.extended_tier)
    except Exception:  # pragma: no cover - a broken taxonomy must not stop evaluation
        return frozenset()


def _gold_families(g: dict[str, Any]) -> tuple[set[str], set[str], bool]:
    """(families scored, families ignored if predicted, tiered?)."""
    mentions = g.get("model_mentions") or []
    tiered = any("tier" in m for m in mentions)
    core = {canonical_family(m["family"]) for m in mentions if m.get("family") and (not tiered or m.get("tier") == "core")}
    extended = {canonical_family(m["family"]) for m in mentions if m.get("family") and tiered and m.get("tier") != "core"}
    if tiered:
        extended |= extended_scope()
    return core, extended - core, tiered


def evaluate(gold: list[dict[str, Any]], preds: list[Prediction], *, source: str = "records",
             group_hk_mo_with_cn: bool = False) -> EvalReport:
    """Score ``preds`` against ``gold``; see the module docstring for how things match."""
    report = EvalReport(source=source, n_gold=len(gold), n_predictions=len(preds))
    tiered_any = any("tier" in m for g in gold for m in g.get("model_mentions") or [])
    for g, p, how in match_papers(gold, preds):
        group = group_hk_mo_with_cn
        want = _gold_countries(g, group)
        got = sorted(set(p.countries)) if p else []
        if p is not None:
            report.n_matched += 1
        ok = p is not None and want == got
        report.country_set_exact.add(ok)
        report.by_group.setdefault(str(g.get("layout") or "all"), Ratio()).add(ok)
        g_flag, p_flag = {"US", "CN"} <= set(want), {"US", "CN"} <= set(got)
        report.us_cn.tp += int(g_flag and p_flag)
        report.us_cn.fp += int(p_flag and not g_flag)
        report.us_cn.fn += int(g_flag and not p_flag)

        miss = PaperMiss(str(g.get("id") or ""), p.source_file if p else g.get("source_file"), how, want, got,
                         note=(p.error if p is not None and p.error else None) if p else "no matching document")
        gold_names = [a.get("name") or "" for a in g.get("authors") or []]
        gold_ac = _gold_author_countries(g, group)
        pred_names = [a[0] for a in p.authors] if p else []
        align = align_authors(gold_names, pred_names)
        report.author_names.tp += len(align)
        report.author_names.fn += len(gold_names) - len(align)
        report.author_names.fp += len(pred_names) - len(align)
        for i, name in enumerate(gold_names):
            j = align.get(i)
            got_c = p.authors[j][1] if (p and j is not None) else None
            correct = got_c is not None and got_c == gold_ac[i]
            report.author_country.add(correct)
            if not correct:
                miss.author_misses.append({"name": name, "expected": gold_ac[i],
                                           "got": got_c if got_c is not None else "(not found)"})
            g_email = (g["authors"][i].get("email") or "").lower() or None
            if g_email:
                p_email = (p.authors[j][2] or "").lower() if (p and j is not None) else ""
                report.emails.add(p_email == g_email)

        g_inst = {canonical_institution(a.get("institution") or a.get("raw") or "") for a in g.get("affiliations") or []}
        g_inst.discard("")
        p_inst = {canonical_institution(x) for x in (p.institutions if p else [])}
        p_inst.discard("")
        report.institutions.add(g_inst, p_inst)
        miss.institutions_missing = sorted(g_inst - p_inst)
        miss.institutions_extra = sorted(p_inst - g_inst)

        core, ignored, _ = _gold_families(g)
        if tiered_any and not (g.get("model_mentions") or []):
            ignored = set(extended_scope())  # a paper with no mentions in tiered gold
        p_fam = {canonical_family(f) for f in (p.families if p else [])} - ignored
        report.families.add(core, p_fam)
        miss.families_missing = sorted(core - p_fam)
        miss.families_extra = sorted(p_fam - core)

        if miss.country_wrong or miss.author_misses or miss.institutions_missing or miss.institutions_extra \
                or miss.families_missing or miss.families_extra or p is None:
            report.misses.append(miss)
    report.families_scope = "core tier" if tiered_any else "all"
    # country-set misses first: they are what the headline numbers depend on
    report.misses.sort(key=lambda m: (not m.country_wrong, -len(m.author_misses), m.gold_id))
    return report


def evaluate_store(store: Store, gold_path: Path | str, *, backend: str | None = None,
                   group_hk_mo_with_cn: bool = False) -> EvalReport:
    """Load gold, read predictions from ``store`` and score them."""
    gold = load_gold(gold_path)
    preds = predictions_from_store(store, backend, group_hk_mo_with_cn=group_hk_mo_with_cn)
    return evaluate(gold, preds, source=f"{backend} extractions" if backend else "records",
                    group_hk_mo_with_cn=group_hk_mo_with_cn)


def status_breakdown(preds: Iterable[Prediction]) -> dict[str, int]:
    return dict(Counter(p.status or "none" for p in preds))


__all__ = ["Counts", "EvalReport", "PaperMiss", "Prediction", "Ratio", "align_authors", "canonical_family",
           "canonical_institution", "evaluate", "evaluate_store", "extended_scope", "gold_shape_problem", "load_gold",
           "match_papers", "prediction_from_content", "predictions_from_store"]
