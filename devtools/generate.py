"""Render realistic paper front matter as PDFs whose correct answer is known.

Tests, the demo, evaluation and benchmarks need PDFs with ground truth. This module takes
real paper metadata (the paperlists JSONL format: title, abstract, authors with affiliation
strings and institution/country labels), prints it in one of several real-looking layouts
(see :mod:`devtools.layouts`; :mod:`devtools.layouts_more` for other LaTeX classes) with
pymupdf, and returns the truth record of exactly what was printed: authors, deduplicated
affiliation units (raw = printed text, labels from the metadata), emails as printed,
countries, and model mentions with roles.

Output is deterministic: the same metadata, layout and seed give byte-identical PDFs
(fixed dates, no random file ID), so committed samples keep their SHA-256.

What an extractor sees through ``page.get_text("dict")`` (MuPDF 1.28):

- Fonts are Times-Roman/Bold/Italic, Courier (emails) and Symbol (the TeX ∗), embedded
  and subset; every printed character comes back unchanged (ł, ø, é, †, ‡, §, ∗, ℓ).
- The title is the largest horizontal span and bold (flags 20). The rotated arXiv stamp
  of ``numbered`` is larger (20 pt) but its line has ``dir == (0, -1)``.
- Markers are separate spans at 70% size with the baseline raised by 40% of the base size.
  MuPDF sets the superscript bit (flags & 1) only for a marker that follows normal text on
  the same line (``Alice Smith¹``). A marker that starts a line (``¹Tsinghua University``,
  footnote ``¹Department ...``) is not flagged, and nor are later markers on a line that
  started with one; detect those by size and raised origin.
- Venue lines: NeurIPS footer (per-author), ICML proceedings line under the affiliation
  footnote (footnote), the venue's own footer (symbols), ACL proceedings footer
  (acl-grid), arXiv stamp (numbered). They are template text: the true venue/year are in
  the PDF metadata ``subject`` (``venue=nips;year=2018``).

Example::

    python -m devtools.generate data/samples/papers.jsonl /tmp/out --n 200 --workers 4
"""

from __future__ import annotations

import argparse
import inspect
import json
import random
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pymupdf

from devtools import bodytext as bt
from devtools import paperprep as pp
from devtools.layoutkit import AuthorSpec, Block, PaperSpec, Unit
from devtools.layouts import LAYOUTS as _DEVELOPMENT_LAYOUTS
from devtools.layouts_more import MORE_LAYOUTS

#: The round-robin of a corpus rendered without ``layouts``: the five templates the rules were
#: developed on. The layouts of other generators (:mod:`devtools.layouts_more`) are asked for by
#: name, so default corpora and the benchmark figures built on them stay reproducible.
DEFAULT_LAYOUTS: tuple[str, ...] = tuple(_DEVELOPMENT_LAYOUTS)
LAYOUTS = {**_DEVELOPMENT_LAYOUTS, **MORE_LAYOUTS}

__all__ = ["DEFAULT_LAYOUTS", "LAYOUTS", "generate_corpus", "render_paper", "render_bytes", "main"]

_EMAIL_STYLE_WEIGHTS = (0.5, 0.2, 0.2, 0.1)
#: The PDF ``creator`` of every generated file: a fixed tag, not this module's import path.
#: It is part of the bytes, so changing it changes the SHA-256 (and so the paper id) of every
#: generated PDF, the committed data/samples included.
CREATOR = "collabscope extractor.devtools.generate"
#: zlib effort 20 of 100 saves ~1.4 ms a file for ~8% more bytes (PyMuPDF >= 1.24.x has it).
_SAVE_EXTRA = {"compression_effort": 20} if "compression_effort" in inspect.signature(pymupdf.Document.tobytes).parameters or \
    "compression_effort" in inspect.signature(pymupdf.Document.save).parameters else {}


def _authors_and_units(meta: dict, rng: random.Random, extras: dict) -> tuple[list[AuthorSpec], list[Unit]]:
    """Printed affiliation units (deduplicated by printed text) and authors pointing at them."""
    mode = extras.get("country_mode") or rng.choices(["keep", "add", "drop"], (0.6, 0.2, 0.2))[0]
    style = rng.choices(pp.EMAIL_STYLES, _EMAIL_STYLE_WEIGHTS)[0]
    units: list[Unit] = []
    index: dict[str, int] = {}
    authors: list[AuthorSpec] = []
    taken: set[str] = set()
    for a in list(meta.get("authors") or []) + list(extras.get("extra_authors") or []):
        uidx: list[int] = []
        for aff in a.get("affiliations") or []:
            text = pp.clean_affiliation(aff.get("raw") or aff.get("institution") or "", aff.get("institution"))
            text = pp.with_country_mode(text, aff.get("country"), aff.get("country_source"), mode)
            if not text:
                continue
            if text not in index:
                index[text] = len(units)
                units.append(Unit(text, aff.get("institution"), aff.get("country")))
            if index[text] not in uidx:
                uidx.append(index[text])
        email = None
        domain = pp.clean_domain(a.get("email_domain"))
        if domain:
            local = base = pp.email_local(a["name"], style) or "author"
            k = 2
            while f"{local}@{domain}" in taken:
                local, k = f"{base}{k}", k + 1
            email = f"{local}@{domain}"
            taken.add(email)
        authors.append(AuthorSpec(re.sub(r"\s+", " ", a["name"]).strip(), uidx, email))
    return authors, units


def _with_mentions(parts: list[str | bt.Sentence]) -> tuple[str, list[tuple[int, dict]]]:
    """Join filler strings and model sentences; remember where each mention's sentence ends."""
    text, mentions = "", []
    for part in parts:
        s = part.text if isinstance(part, bt.Sentence) else part
        text = f"{text} {s}" if text else s
        if isinstance(part, bt.Sentence):
            mentions += [(len(text), m) for m in part.mentions]
    return text, mentions


def _blocks(title: str, abstract: str, year: int, rng: random.Random, extras: dict,
            two_pages: bool) -> tuple[list[Block], list[dict]]:
    """Abstract, introduction (with model sentences), further sections and references."""
    title_mentions = bt.scan_mentions(title)
    blocks: list[Block] = []
    if abstract:
        ab_mentions = []
        for m in bt.scan_mentions(abstract):
            end = abstract.index(m["name"]) + len(m["name"])
            ab_mentions.append((end, m))
        blocks += [Block("abstract-heading", "Abstract"), Block("abstract", abstract, mentions=ab_mentions)]
    avoid = {m["family"] for m in bt.scan_mentions(f"{title} {abstract}")}
    want = extras.get("models")
    sentences = bt.model_sentences(rng, year, avoid) if (rng.random() < 0.5 if want is None else want) else []
    later = sentences.pop() if two_pages and len(sentences) > 1 else None
    filler = bt.Filler(rng)
    intro = [*filler.take(rng.randint(1, 2)), *sentences, *filler.take(rng.randint(1, 2))]
    text, mentions = _with_mentions(intro)
    blocks += [Block("heading", "Introduction", "1"), Block("para", text, mentions=mentions)]
    # one-page papers get enough text to fill page 1; the flow cuts it where the page ends
    blocks += [Block("para", p) for p in filler.paragraphs(2 if two_pages else 6)]
    refs = [r for s in sentences + ([later] if later else []) for r in s.refs]
    if two_pages:
        for k, name in enumerate(bt.SECTIONS[:3], start=2):
            blocks.append(Block("heading", name, str(k)))
            parts: list[str | bt.Sentence] = list(filler.take(3))
            if later is not None and k == 4:
                parts.insert(1, later)
            text, mentions = _with_mentions(parts)
            blocks += [Block("para", text, mentions=mentions), *[Block("para", p) for p in filler.paragraphs(1)]]
        used = avoid | {m["family"] for s in sentences + ([later] if later else []) for m in s.mentions}
        if rng.random() < 0.6:
            only = bt.reference_only_model(rng, year, used)
            if only:
                refs.append(only)
        refs += rng.sample(bt.NEUTRAL_REFERENCES, 3)
        blocks.append(Block("refs-heading", "References"))
        blocks += [Block("ref", f"[{k}] {r}") for k, r in enumerate(sorted(set(refs)), start=1)]
    return blocks, title_mentions


def build_spec(meta: dict, layout: str, seed: int, extras: dict) -> tuple[PaperSpec, list[dict]]:
    """Decide everything that will be printed (seeded), before any drawing happens."""
    rng = random.Random(f"{meta.get('id')}|{layout}|{seed}")
    authors, units = _authors_and_units(meta, rng, extras)
    equal_p = 1.0 if layout == "symbols" else 0.3
    if len(authors) >= 2 and rng.random() < equal_p:
        authors[0].equal = authors[1].equal = True
    year = int(meta.get("year") or 2018)
    two_pages = extras.get("two_pages")
    two_pages = rng.random() < 0.4 if two_pages is None else bool(two_pages)
    title = pp.latex_to_text(meta.get("title")) or "Untitled"
    blocks, title_mentions = _blocks(title, pp.latex_to_text(meta.get("abstract")), year, rng, extras, two_pages)
    spec = PaperSpec(id=str(meta.get("id", "")), venue=str(meta.get("venue") or "nips"), year=year,
                     title=title, authors=authors, units=units, blocks=blocks,
                     max_pages=2 if two_pages else 1, rng=rng, email_groups=rng.random() < 0.7)
    return spec, title_mentions


def render_bytes(meta: dict, layout: str, *, seed: int = 0, extras: dict | None = None,
                 source_file: str = "") -> tuple[bytes, dict]:
    """Render one paper to PDF bytes plus its truth record (see :func:`render_paper`)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    extras = dict(extras or {})
    spec, title_mentions = build_spec(meta, layout, seed, extras)
    canvas, printed = LAYOUTS[layout](spec)
    doc = canvas.finish()
    tag = extras.get("tag") or source_file
    doc.set_metadata({
        "title": spec.title, "author": "", "subject": f"venue={spec.venue};year={spec.year}",
        "keywords": f"collabscope-synthetic;id={spec.id};layout={layout};seed={seed};file={tag}",
        "creator": CREATOR, "producer": f"PyMuPDF {pymupdf.VersionBind}",
        "creationDate": f"D:{spec.year}0601000000Z", "modDate": f"D:{spec.year}0601000000Z",
    })
    try:
        doc.subset_fonts()
    except Exception:  # noqa: BLE001 - a full font is bigger but still correct
        pass
    data = doc.tobytes(garbage=3, deflate=True, use_objstms=1, no_new_id=True, **_SAVE_EXTRA)
    doc.close()
    mentions = list(title_mentions)
    for bi, block in enumerate(spec.blocks):
        mentions += [m for end, m in block.mentions if printed.block_chars.get(bi, 0) >= end]
    return data, truth_record(spec, layout, source_file, printed.emails, mentions)


def truth_record(spec: PaperSpec, layout: str, source_file: str, emails: dict[int, str],
                 mentions: list[dict]) -> dict:
    """One line of ``truth.jsonl``: what the page prints (the e-mails and model mentions that
    made it onto the page, each mention once), whichever generator typeset it."""
    seen: set[str] = set()
    mentions = [m for m in mentions if not (m["name"] in seen or seen.add(m["name"]))]
    return {
        "id": spec.id, "title": spec.title, "venue": spec.venue, "year": spec.year, "layout": layout,
        "source_file": source_file,
        "authors": [{"name": a.name, "affiliations": a.units, "email": emails.get(i)}
                    for i, a in enumerate(spec.authors)],
        "affiliations": [{"raw": u.text, "institution": u.institution, "country": u.country, "sector": None}
                         for u in spec.units],
        "countries": sorted({u.country for u in spec.units if u.country}),
        "model_mentions": [{"name": m["name"], "family": m["family"], "role": m["role"]} for m in mentions],
    }


def render_paper(meta: dict, out_path: Path, layout: str, *, seed: int = 0, extras: dict | None = None) -> dict:
    """Write a one- or two-page PDF of ``meta`` in ``layout`` and return its truth record.

    Args:
        meta: one paperlists record (id, venue, year, title, abstract, authors[...]).
        out_path: where to write the PDF; its file name becomes the truth ``source_file``.
        layout: one of :data:`LAYOUTS`.
        seed: varies the seeded choices (country printed or not, email style, markers, model
            sentences, second page) while staying deterministic.
        extras: optional overrides: ``extra_authors`` (more author dicts, e.g. for 15+ author
            lists), ``two_pages`` / ``models`` (bool), ``country_mode`` ('keep'|'add'|'drop'),
            ``tag`` (written into the PDF keywords; makes otherwise equal renders differ).

    Returns:
        The truth record in the gold format (authors point at affiliations by index).
    """
    out_path = Path(out_path)
    data, truth = render_bytes(meta, layout, seed=seed, extras=extras, source_file=out_path.name)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(data)
    return truth


def file_stem(meta: dict, layout: str, cycle: int = 0) -> str:
    """``nips2018:11127`` in ``numbered`` -> ``nips2018-11127-numbered`` (``-r2`` on repeats)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", str(meta.get("id", "paper"))).strip("-")
    return f"{stem}-{layout}" + (f"-r{cycle}" if cycle else "")


def _render_task(task: tuple[dict, str, int, str, str]) -> dict:
    meta, layout, seed, out_dir, name = task
    return render_paper(meta, Path(out_dir) / name, layout, seed=seed, extras={"tag": name})


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def generate_corpus(source_jsonl: Path, out_dir: Path, *, n: int | None = None, layouts: list[str] | None = None,
                    seed: int = 0, workers: int = 1) -> Path:
    """Render papers round-robin over layouts into ``out_dir`` and write ``truth.jsonl``.

    With ``n`` above the number of papers it cycles through them again; each repeat shifts
    the layout and the seed and gets an ``-rK`` file name, so every PDF has distinct bytes.

    Returns:
        Path of the truth file (one JSON line per PDF, in generation order).
    """
    papers = read_jsonl(Path(source_jsonl))
    if not papers:
        raise ValueError(f"{source_jsonl} holds no papers")
    layouts = list(layouts or DEFAULT_LAYOUTS)
    bad = [name for name in layouts if name not in LAYOUTS]
    if bad:
        raise ValueError(f"unknown layout(s) {bad}; choose from {', '.join(LAYOUTS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = len(papers) if n is None else n
    tasks = []
    for i in range(total):
        cycle, meta = divmod(i, len(papers))[0], papers[i % len(papers)]
        layout = layouts[(i + cycle) % len(layouts)]
        tasks.append((meta, layout, seed + cycle, str(out_dir), file_stem(meta, layout, cycle) + ".pdf"))
    truth_path = out_dir / "truth.jsonl"
    with open(truth_path, "w", encoding="utf-8") as fh:
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                results: Any = pool.map(_render_task, tasks, chunksize=max(1, min(64, total // (workers * 4) or 1)))
                for truth in results:
                    fh.write(json.dumps(truth, ensure_ascii=False) + "\n")
        else:
            for task in tasks:
                fh.write(json.dumps(_render_task(task), ensure_ascii=False) + "\n")
    return truth_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.generate",
        description="Render paper metadata (paperlists JSONL) as synthetic front-matter PDFs with truth.jsonl.",
        epilog="Example: python -m devtools.generate data/samples/papers.jsonl /tmp/out "
               "--n 1000 --layouts numbered,footnote --workers 4",
    )
    parser.add_argument("source", type=Path, help="paperlists-format JSONL (one paper per line)")
    parser.add_argument("out_dir", type=Path, help="directory for the PDFs and truth.jsonl")
    parser.add_argument("--n", type=int, default=None, help="number of PDFs (default: one per paper; cycles if larger)")
    parser.add_argument("--layouts", default=",".join(DEFAULT_LAYOUTS),
                        help=f"comma-separated subset of {','.join(LAYOUTS)} (default: the first five)")
    parser.add_argument("--seed", type=int, default=0, help="seed for all variation (default 0)")
    parser.add_argument("--workers", type=int, default=1, help="processes to render with (default 1)")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        parser.error(f"source file {args.source} does not exist")
    start = time.perf_counter()
    try:
        truth = generate_corpus(args.source, args.out_dir, n=args.n, seed=args.seed, workers=args.workers,
                                layouts=[s.strip() for s in args.layouts.split(",") if s.strip()])
    except ValueError as exc:
        parser.error(str(exc))
    count = sum(1 for _ in open(truth, encoding="utf-8"))
    secs = time.perf_counter() - start
    print(f"wrote {count} PDFs to {args.out_dir} in {secs:.1f}s ({count / secs:.0f} PDFs/s); truth: {truth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
