"""Typeset paper front matter with LaTeX and real publishers' classes, with known truth.

:mod:`devtools.generate` draws imitations of layouts with pymupdf; this module is the
independent second generator: the same paper metadata, cleaned the same way
(:func:`devtools.generate.build_spec`: printed affiliation units, e-mails, country kept /
added / dropped, body text with model sentences), written into a jinja2 template of a real
class (``devtools/latex_templates/``) and compiled by ``pdflatex`` with the class as TeX Live
ships it. The truth record has the format :func:`devtools.generate.render_bytes` writes, so
``collabscope eval --gold OUT/truth.jsonl`` scores it; its ``layout`` is ``latex-<class>``.

TeX is a development dependency only (tests render templates to ``.tex`` text and never
compile). A paper whose names or affiliations hold characters the classes' fonts cannot
print, or that does not compile within the timeout, is skipped and counted.

Example::

    python -m devtools.latex_render ../shared/corpora/paperlists/nips2018.jsonl /tmp/tex \\
        --classes ieee-journal,acm --n 100 --workers 1
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pymupdf

from devtools import paperprep as pp
from devtools.generate import build_spec, file_stem, read_jsonl
from devtools.generate import truth_record as page_truth
from devtools.latex_text import UnsupportedText, split_unit, tex
from devtools.layoutkit import PaperSpec

TEMPLATES = Path(__file__).with_name("latex_templates")
#: Class name -> (template file, what it is). The order is the default round-robin.
CLASSES: dict[str, str] = {
    "ieee-journal": "IEEEtran journal: \\thanks footnotes 'A and B are with ...'",
    "ieee-conf": "IEEEtran conference: \\IEEEauthorblockN/\\IEEEauthorblockA",
    "acm": "acmart sigconf: \\affiliation{\\institution \\city \\country} and \\email per author",
    "lncs": "llncs: \\inst{} numbers, \\institute{} with \\email",
    "authblk": "article + authblk: numbered \\affil lines",
    "elsarticle": "elsarticle: \\author[n], \\affiliation[n]{organization=, city=, country=}, \\ead",
    "revtex": "revtex4-2 (APS): \\affiliation after each author, \\email footnotes",
}
COMPILE_TIMEOUT = 60.0
_PDFLATEX = "pdflatex"
_MONTHS = "January February March April May June July August September October November December".split()


def environment() -> jinja2.Environment:
    """Jinja2 with delimiters that never occur in LaTeX source (``<< >>``, ``<% %>``, ``<# #>``)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=False, undefined=jinja2.StrictUndefined,
        block_start_string="<%", block_end_string="%>", variable_start_string="<<", variable_end_string=">>",
        comment_start_string="<#", comment_end_string="#>", trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)


@dataclass
class TexPaper:
    """One paper ready for a template: LaTeX source strings plus what the truth needs."""

    context: dict[str, Any]
    spec: PaperSpec
    printed_emails: dict[int, str] = field(default_factory=dict)
    title_mentions: list[dict] = field(default_factory=list)


def _body(spec: PaperSpec) -> tuple[str, list[dict], list[str]]:
    """(abstract, sections, references) from the spec's blocks, escaped."""
    abstract, sections, refs = "", [], []
    for b in spec.blocks:
        if b.kind == "abstract":
            abstract = tex(b.text)
        elif b.kind == "heading":
            sections.append({"heading": tex(b.text), "paragraphs": []})
        elif b.kind == "para" and sections:
            sections[-1]["paragraphs"].append(tex(b.text))
        elif b.kind == "ref":
            refs.append(tex(b.text.split("] ", 1)[-1]))
    return abstract, sections, refs


def _groups(spec: PaperSpec) -> list[tuple[tuple[int, ...], list[int]]]:
    """Authors with the same affiliation units, in order of first appearance."""
    out: dict[tuple[int, ...], list[int]] = {}
    for i, a in enumerate(spec.authors):
        out.setdefault(tuple(a.units), []).append(i)
    return list(out.items())


def _and_list(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + ", and " + names[-1]


def _class_context(cls: str, spec: PaperSpec, rng: random.Random, authors: list[dict], units: list[dict]
                   ) -> tuple[dict[str, Any], dict[int, str]]:
    """What one class prints beyond names and units, and which e-mails reach the page."""
    emails = {i: a.email for i, a in enumerate(spec.authors) if a.email}
    ctx: dict[str, Any] = {}
    printed: dict[int, str] = {}
    if cls == "ieee-journal":
        show = rng.random() < 0.8
        thanks = []
        for key, members in _groups(spec):
            if not key:
                continue
            names = [authors[i]["name"] for i in members]
            verb = "is" if len(members) == 1 else "are"
            where = ", and also with ".join(units[u]["text"].rstrip(".") for u in key)
            mails = [emails[i] for i in members if i in emails] if show else []
            printed.update({i: emails[i] for i in members if i in emails and show})
            mail = f" (e-mail: {'; '.join(tex(m) for m in mails)})" if mails else ""
            thanks.append(f"{_and_list(names)} {verb} with {where}{mail}.")
        month = rng.randrange(9)
        ctx.update(thanks=thanks, received=f"{_MONTHS[month]} {rng.randint(1, 28)}, {spec.year}",
                   revised=f"{_MONTHS[month + 3]} {rng.randint(1, 28)}, {spec.year}",
                   journal=rng.choice(["IEEE Transactions on Neural Networks and Learning Systems",
                                       "IEEE Transactions on Pattern Analysis and Machine Intelligence",
                                       "IEEE Transactions on Signal Processing"]),
                   volume=rng.randint(20, 45), number=rng.randint(1, 12), month=_MONTHS[month], year=spec.year)
    elif cls == "ieee-conf":
        groups = _groups(spec)
        numbered = len(groups) > 3
        printed = dict(emails)
        ctx["numbered"] = numbered
        ctx["emails"] = [tex(emails[i]) for i in sorted(emails)]
        ctx["groups"] = [{"names": [authors[i]["name"] for i in members],
                          "lines": [line for u in key for line in units[u]["lines"]]
                          + [tex(emails[i]) for i in members if i in emails]}
                         for key, members in groups]
    elif cls == "acm":
        printed = dict(emails)
        ctx.update(conf_short=f"NeurIPS '{spec.year % 100:02d}",
                   conf_long=f"Proceedings of the Conference on Neural Information Processing Systems {spec.year}",
                   conf_dates=f"December {spec.year}", conf_place=tex(pp.neurips_footer(spec.year).split("), ")[-1].rstrip(".")),
                   doi=f"{rng.randint(1000000, 9999999)}.{rng.randint(1000000, 9999999)}",
                   isbn=f"{rng.randint(1000, 9999)}-{rng.randint(0, 9)}/{spec.year % 100:02d}/{rng.randint(1, 12):02d}")
    elif cls == "lncs":
        printed = dict(emails)
        for u in units:
            u["emails"] = []
        pairs: dict[int, list[tuple[str, str]]] = {}
        for i, a in enumerate(spec.authors):
            if i in emails and a.units:
                pairs.setdefault(a.units[0], []).append(tuple(emails[i].split("@", 1)))  # type: ignore[arg-type]
        for u, ps in pairs.items():
            grouped = pp.email_groups(ps) if spec.email_groups else [f"{lo}@{d}" for lo, d in ps]
            units[u]["emails"] = [tex(e) for e in grouped]
        ctx["authorrunning"] = (authors[0]["name"] + " et al.") if len(authors) > 2 else " and ".join(a["name"] for a in authors)
    elif cls == "authblk":
        if rng.random() < 0.5:
            printed = dict(emails)
        ctx["emails"] = [tex(printed[i]) for i in sorted(printed)]
    elif cls == "elsarticle":
        everyone = rng.random() < 0.5
        printed = dict(emails) if everyone else {i: e for i, e in emails.items() if i == 0}
        for i, a in enumerate(authors):
            a["email"] = tex(printed[i]) if i in printed else None
        ctx.update(corresponding=bool(spec.authors),
                   journal=rng.choice(["Pattern Recognition", "Neural Networks", "Neurocomputing",
                                       "Artificial Intelligence"]))
    elif cls == "revtex":
        everyone = rng.random() < 0.5
        printed = dict(emails) if everyone else {i: e for i, e in emails.items() if i == 0}
        for i, a in enumerate(authors):
            a["email"] = tex(printed[i]) if i in printed else None
        ctx["address_style"] = rng.choice(["groupedaddress", "superscriptaddress"])
    else:
        raise ValueError(f"unknown class {cls!r}; choose from {', '.join(CLASSES)}")
    if cls in ("ieee-conf", "acm", "lncs"):
        for i, a in enumerate(authors):
            a["email"] = tex(printed[i]) if i in printed else None
    return ctx, printed


def prepare(meta: dict, cls: str, *, seed: int = 0) -> TexPaper:
    """Everything the template of ``cls`` prints for ``meta``, seeded and escaped.

    Raises:
        UnsupportedText: a name or affiliation the classes' fonts cannot print.
    """
    if cls not in CLASSES:
        raise ValueError(f"unknown class {cls!r}; choose from {', '.join(CLASSES)}")
    # acmart stops with an error on an affiliation without \country, so ACM papers always print one
    extras = {"country_mode": "add"} if cls == "acm" else {}
    spec, title_mentions = build_spec(meta, f"latex-{cls}", seed, extras)
    rng = random.Random(f"{spec.id}|latex|{cls}|{seed}")
    sources = {}
    for a in meta.get("authors") or []:
        for aff in a.get("affiliations") or []:
            sources.setdefault(aff.get("country"), aff.get("country_source"))
    units = []
    for u in spec.units:
        f = split_unit(u.text, u.country, sources.get(u.country), u.institution)
        lines = [x for x in (f.department, f.institution, ", ".join(p for p in (f.city, f.state, f.country) if p)) if x]
        units.append({"text": tex(u.text, strict=True), "lines": [tex(x, strict=True) for x in lines],
                      "fields": {k: tex(v, strict=True) for k, v in vars(f).items()},
                      "fields_utf8": {k: tex(v, strict=True, utf8=True) for k, v in vars(f).items()}})
    authors = [{"name": tex(a.name, strict=True), "units": a.units,
                "marks": ",".join(str(u + 1) for u in a.units) or " "} for a in spec.authors]
    ctx, printed = _class_context(cls, spec, rng, authors, units)
    abstract, sections, refs = _body(spec)
    keywords = ", ".join(rng.sample(["machine learning", "optimization", "representation learning",
                                     "generalization", "deep learning", "statistical learning"], 3))
    title = tex(spec.title)
    ctx.update(title=title, running=title, authors=authors, units=units, abstract=abstract,
               sections=sections, references=refs, keywords=keywords, year=spec.year)
    return TexPaper(ctx, spec, printed, title_mentions)


def render_tex(paper: TexPaper, cls: str, env: jinja2.Environment | None = None) -> str:
    """The ``.tex`` source of a prepared paper."""
    return (env or environment()).get_template(f"{cls}.tex.j2").render(**paper.context)


def truth_record(paper: TexPaper, cls: str, source_file: str) -> dict:
    """The truth in :func:`devtools.generate.render_bytes`'s format; LaTeX prints every block."""
    spec = paper.spec
    mentions = list(paper.title_mentions) + [m for b in spec.blocks for _, m in b.mentions]
    return page_truth(spec, f"latex-{cls}", source_file, paper.printed_emails, mentions)


def compile_pdf(source: str, *, timeout: float = COMPILE_TIMEOUT, year: int = 2018) -> bytes:
    """Run pdflatex (two passes) on ``source`` in a temporary directory; return the PDF bytes.

    ``SOURCE_DATE_EPOCH`` fixes the dates pdfTeX writes and ``\\today``, so a render is
    repeatable. Raises :class:`RuntimeError` with the end of the log when it fails.
    """
    epoch = str(int(time.mktime((year, 6, 1, 0, 0, 0, 0, 0, 0))))
    env = {**os.environ, "SOURCE_DATE_EPOCH": epoch, "FORCE_SOURCE_DATE": "1"}
    with tempfile.TemporaryDirectory(prefix="latex_render_") as tmp:
        Path(tmp, "paper.tex").write_text(source, encoding="utf-8")
        cmd = [_PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", "paper.tex"]
        for _ in range(2):  # the second pass resolves labels: affiliation marks, e-mail footnotes
            try:
                proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, timeout=timeout, check=False)
            except subprocess.TimeoutExpired as exc:
                raise RuntimeError(f"pdflatex timed out after {timeout:.0f}s") from exc
            if proc.returncode != 0:
                break
        pdf = Path(tmp, "paper.pdf")
        if proc.returncode != 0 or not pdf.is_file():
            tail = proc.stdout.decode("utf-8", "replace").splitlines()[-12:]
            raise RuntimeError("pdflatex failed: " + " | ".join(line for line in tail if line.strip()))
        return pdf.read_bytes()


def _tag(data: bytes, paper: TexPaper, cls: str, seed: int, name: str) -> bytes:
    """Add the generator's subject and keywords as an incremental update, so the bytes pdfTeX
    wrote stay as they are (pymupdf appends incremental updates only to a file on disk)."""
    with tempfile.TemporaryDirectory(prefix="latex_tag_") as tmp:
        path = Path(tmp, "paper.pdf")
        path.write_bytes(data)
        doc = pymupdf.open(path)
        meta = {k: v for k, v in (doc.metadata or {}).items() if k in (
            "title", "author", "subject", "keywords", "creator", "producer", "creationDate", "modDate")}
        meta.update(subject=f"venue={paper.spec.venue};year={paper.spec.year}",
                    keywords=f"collabscope-synthetic;id={paper.spec.id};layout=latex-{cls};seed={seed};file={name}")
        doc.set_metadata(meta)
        doc.saveIncr()
        doc.close()
        return path.read_bytes()


def _render_task(task: tuple[dict, str, int, str, str]) -> tuple[str, dict | None, str | None]:
    """(file name, truth or None, reason skipped or None)."""
    meta, cls, seed, out_dir, name = task
    try:
        paper = prepare(meta, cls, seed=seed)
    except UnsupportedText as exc:
        return name, None, f"unsupported text: {exc}"
    try:
        data = compile_pdf(render_tex(paper, cls), year=paper.spec.year)
    except RuntimeError as exc:
        return name, None, str(exc)
    Path(out_dir, name).write_bytes(_tag(data, paper, cls, seed, name))
    return name, truth_record(paper, cls, name), None


def render_corpus(source_jsonl: Path, out_dir: Path, *, classes: list[str], n: int, seed: int = 0,
                  workers: int = 1) -> tuple[Path, Counter[str], list[tuple[str, str]]]:
    """Render ``n`` papers per class (the first ``n`` papers of the source, each class the same
    papers) into ``out_dir``; write ``truth.jsonl`` and one ``truth-<class>.jsonl`` per class.

    Returns:
        (truth path, PDFs written per class, [(file name, reason)] of skipped papers).
    """
    if shutil.which(_PDFLATEX) is None:
        raise RuntimeError("pdflatex is not installed (see the apt line in docs/ACCURACY.md)")
    bad = [c for c in classes if c not in CLASSES]
    if bad:
        raise ValueError(f"unknown class(es) {bad}; choose from {', '.join(CLASSES)}")
    papers = read_jsonl(Path(source_jsonl))[:n]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = [(meta, cls, seed, str(out_dir), file_stem(meta, f"latex-{cls}") + ".pdf")
             for cls in classes for meta in papers]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_render_task, tasks))
    else:
        results = [_render_task(t) for t in tasks]
    written: Counter[str] = Counter()
    skipped = []
    per_class: dict[str, list[dict]] = {c: [] for c in classes}
    for (_, cls, *_rest), (name, truth, reason) in zip(tasks, results, strict=True):
        if truth is None:
            skipped.append((name, reason or "?"))
            continue
        written[cls] += 1
        per_class[cls].append(truth)
    truth_path = out_dir / "truth.jsonl"
    with open(truth_path, "w", encoding="utf-8") as fh:
        for cls in classes:
            with open(out_dir / f"truth-{cls}.jsonl", "w", encoding="utf-8") as one:
                for t in per_class[cls]:
                    line = json.dumps(t, ensure_ascii=False) + "\n"
                    fh.write(line)
                    one.write(line)
    with open(out_dir / "skipped.tsv", "w", encoding="utf-8") as fh:
        fh.writelines(f"{name}\t{reason}\n" for name, reason in skipped)
    return truth_path, written, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.latex_render",
        description="Typeset paper metadata (paperlists JSONL) with real LaTeX classes; write PDFs and truth.jsonl.",
        epilog="Example: python -m devtools.latex_render papers.jsonl /tmp/tex --classes ieee-journal,acm "
               "--n 100 --workers 1. Needs pdflatex and the classes from TeX Live.")
    parser.add_argument("source", type=Path, help="paperlists-format JSONL (one paper per line)")
    parser.add_argument("out_dir", type=Path, help="directory for the PDFs, truth.jsonl and truth-<class>.jsonl")
    parser.add_argument("--classes", default=",".join(CLASSES), help=f"comma-separated subset of {','.join(CLASSES)}")
    parser.add_argument("--n", type=int, default=100, help="papers per class (the first N of the source; default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed for all variation (default 0)")
    parser.add_argument("--workers", type=int, default=1, help="processes to compile with (default 1)")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        parser.error(f"source file {args.source} does not exist")
    start = time.perf_counter()
    try:
        truth, written, skipped = render_corpus(
            args.source, args.out_dir, classes=[c.strip() for c in args.classes.split(",") if c.strip()],
            n=args.n, seed=args.seed, workers=args.workers)
    except (ValueError, RuntimeError) as exc:
        parser.error(str(exc))
    secs = time.perf_counter() - start
    per = ", ".join(f"{c} {k}" for c, k in written.items())
    print(f"wrote {sum(written.values())} PDFs ({per}) to {args.out_dir} in {secs:.0f}s; "
          f"skipped {len(skipped)} (see skipped.tsv); truth: {truth}")
    reasons = Counter(r.split(":")[0] for _, r in skipped)
    for reason, k in reasons.most_common():
        print(f"  skipped {k}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
