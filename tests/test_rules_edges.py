"""Author-block edge cases, each drawn with pymupdf exactly as a real template prints it.

Every page has a title, the author block under test, an abstract, an introduction and
(optionally) page-1 footnotes; :class:`Page` places runs of text with superscript
markers (smaller and raised, as LaTeX sets them). Self-contained: nothing outside the
repository is read.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from extractor.extract.rules import RulesBackend
from extractor.ingest.files import read_document
from extractor.schemas import PaperExtraction

BODY = ("We study how papers print their authors and affiliations and what a reader needs to recover "
        "them. The method is simple and the results are clear for every template we tried so far.")


class Page:
    """A US Letter page with helpers for centred lines of (text, superscript?) runs."""

    def __init__(self) -> None:
        self.doc = pymupdf.open()
        self.page = self.doc.new_page(width=612, height=792)

    def runs(self, y: float, runs: list[tuple[str, bool]], *, size: float = 11, bold: bool = False,
             x: float | None = None, centre: float = 306) -> None:
        font = "tibo" if bold else "tiro"
        widths = [pymupdf.get_text_length(t, fontname=font, fontsize=size * (0.7 if sup else 1)) for t, sup in runs]
        cx = x if x is not None else centre - sum(widths) / 2
        for (text, sup), w in zip(runs, widths):
            if sup:
                self.page.insert_text((cx, y - size * 0.35), text, fontsize=size * 0.7, fontname="tiro")
            else:
                self.page.insert_text((cx, y), text, fontsize=size, fontname=font)
            cx += w

    def line(self, y: float, text: str, **kw: object) -> None:
        self.runs(y, [(text, False)], **kw)  # type: ignore[arg-type]

    def finish(self, path: Path, title: str = "A Careful Study of Author Blocks in Papers",
               footnotes: list[list[tuple[str, bool]]] | None = None, abstract_y: float = 300,
               references: str | None = None) -> Path:
        self.line(80, title, size=17, bold=True)
        self.line(abstract_y, "Abstract", size=12, bold=True)
        y = abstract_y + 18
        for _ in range(3):
            self.line(y, BODY[:95], size=10)
            y += 12
        self.runs(y + 24, [("1   Introduction", False)], size=12, bold=True, x=72)
        y += 44
        while y < (600 if footnotes else 720):
            self.runs(y, [(BODY[:100], False)], size=10, x=72)
            y += 12
        for k, runs in enumerate(footnotes or []):
            self.runs(660 + 10 * k, runs, size=8, x=72)
        if references:
            page2 = self.doc.new_page(width=612, height=792)
            page2.insert_text((72, 80), "We discuss the results in detail. " * 2, fontsize=10)
            page2.insert_text((72, 120), "References", fontsize=12, fontname="tibo")
            page2.insert_text((72, 140), references, fontsize=9)
        self.doc.save(path)
        self.doc.close()
        return path


@pytest.fixture(scope="module")
def backend() -> RulesBackend:
    return RulesBackend()


def run(backend: RulesBackend, path: Path) -> PaperExtraction:
    doc = read_document(path)
    assert doc.ok, doc.error
    return backend.extract(doc)


def institutions_of(ext: PaperExtraction, name: str) -> list[str | None]:
    by_id = {a.id: a for a in ext.affiliations}
    author = next(a for a in ext.authors if a.name == name)
    return [by_id[i].institution for i in author.affiliation_ids]


def countries_of(ext: PaperExtraction) -> dict[str, list[str]]:
    return {a.name: c for a, c in zip(ext.authors, ext.author_countries())}


# --------------------------------------------------------------------------- cases


def test_brace_emails_are_expanded_and_matched_to_names(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Alice Smith", False), ("1", True), (", Robert Jones", False), ("1", True),
                 (", Carol White", False), ("2", True)])
    p.runs(148, [("1", True), ("Stanford University, Stanford, CA, USA", False)], size=10)
    p.runs(161, [("2", True), ("Peking University, Beijing, China", False)], size=10)
    p.line(176, "{asmith,rjones}@stanford.edu, carol.white@pku.edu.cn", size=9)
    ext = run(backend, p.finish(tmp_path / "brace.pdf"))
    assert [(a.name, a.email) for a in ext.authors] == [
        ("Alice Smith", "asmith@stanford.edu"), ("Robert Jones", "rjones@stanford.edu"),
        ("Carol White", "carol.white@pku.edu.cn")]
    assert countries_of(ext) == {"Alice Smith": ["US"], "Robert Jones": ["US"], "Carol White": ["CN"]}


def test_equal_contribution_and_correspondence_are_not_affiliations(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Wei Zhang", False), ("*1", True), ("   Maria Garcia", False), ("*2", True),
                 ("   Tom Baker", False), ("2†", True)])
    p.runs(148, [("1", True), ("Tsinghua University", False), ("   ", False), ("2", True), ("University of Oxford", False)], size=10)
    ext = run(backend, p.finish(tmp_path / "notes.pdf", footnotes=[
        [("*", True), ("Equal contribution.", False)],
        [("†", True), ("Correspondence to: Tom Baker <tom.baker@ox.ac.uk>.", False)],
    ]))
    assert [a.raw for a in ext.affiliations] == ["Tsinghua University", "University of Oxford"]
    assert ext.countries() == ["CN", "GB"]
    assert next(a for a in ext.authors if a.name == "Tom Baker").email == "tom.baker@ox.ac.uk"


def test_venue_lines_are_not_affiliations(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Ana Lopez", False), ("1", True), (", Ben Carter", False), ("1", True)])
    p.runs(148, [("1", True), ("Carnegie Mellon University", False)], size=10)
    p.line(166, "NeurIPS 2024, Vancouver, Canada", size=10)
    ext = run(backend, p.finish(tmp_path / "venue.pdf", footnotes=[
        [("Proceedings of the 35", False), ("th", True), (" International Conference on Machine Learning, Stockholm, Sweden.", False)],
    ]))
    assert ext.countries() == ["US"]
    assert [a.raw for a in ext.affiliations] == ["Carnegie Mellon University"]


def test_icml_footnote_affiliations_split_into_words(backend: RulesBackend, tmp_path: Path) -> None:
    """A justified narrow footnote: every word is its own piece, markers are separate."""
    p = Page()
    p.runs(130, [("Tomas Berger", False), ("1", True), ("  Irena Kovacic", False), ("2", True),
                 ("  Razvan Popescu", False), ("* 1", True)], bold=True, size=10)
    words1 = [("*", True), ("Equal", False), ("contribution", False), ("1", True), ("DeepMind,", False),
              ("London,", False), ("United", False), ("King-", False)]
    words2 = [("dom", False), ("2", True), ("Department", False), ("of", False), ("Computer", False),
              ("Science,", False), ("University", False), ("of", False)]
    words3 = [("Oxford,", False), ("Oxford,", False), ("United", False), ("Kingdom.", False),
              ("Correspondence", False), ("to:", False), ("Tomas", False), ("Berger", False)]
    foot = []
    for words in (words1, words2, words3):
        spaced: list[tuple[str, bool]] = []
        for text, sup in words:
            spaced += [(text, sup)] if sup else [(text, False), ("   ", False)]
        foot.append(spaced)
    ext = run(backend, p.finish(tmp_path / "icml.pdf", footnotes=foot))
    assert countries_of(ext) == {"Tomas Berger": ["GB"], "Irena Kovacic": ["GB"], "Razvan Popescu": ["GB"]}
    raws = sorted(a.raw for a in ext.affiliations)
    assert raws == ["DeepMind, London, United Kingdom", "Department of Computer Science, University of Oxford, Oxford, United Kingdom"]


def test_two_institutions_on_one_line_are_split(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.line(130, "Tao Ren", bold=True, centre=200)
    p.line(143, "UIUC & UChicago", size=10, centre=200)
    p.line(130, "Ming Xu", bold=True, centre=420)
    p.line(143, "Zhejiang Lab/Zhejiang University", size=10, centre=420)
    ext = run(backend, p.finish(tmp_path / "two.pdf"))
    assert sorted(institutions_of(ext, "Tao Ren")) == ["University of Chicago", "University of Illinois Urbana-Champaign"]
    assert len(institutions_of(ext, "Ming Xu")) == 2
    assert ext.countries() == ["CN", "US"]


def test_shared_affiliation_line_under_a_row_of_names(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Paulo Brandt", False), ("        ", False), ("Hao-Ran Tsai", False), ("        ", False),
                 ("Owen Price", False), ("        ", False), ("Milena Petrovska", False)], bold=True, size=12)
    p.line(145, "Google AI Language", size=12)
    p.line(159, "{jacobdevlin,mingweichang,kentonl,kristout}@google.com", size=11)
    ext = run(backend, p.finish(tmp_path / "shared.pdf"))
    assert [a.name for a in ext.authors] == ["Paulo Brandt", "Hao-Ran Tsai", "Owen Price", "Milena Petrovska"]
    assert all(c == ["US"] for c in ext.author_countries())
    assert [a.email for a in ext.authors] == ["jacobdevlin@google.com", "mingweichang@google.com",
                                             "kentonl@google.com", "kristout@google.com"]


def test_grid_cells_with_country_on_its_own_line(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    for cx, name, lines in ((160, "Lin Qiu", ["Texas A&M University", "USA"]),
                            (306, "Ruifeng Ye", ["Shandong University", "China"]),
                            (452, "Kok-Wai Tan", ["National University of", "Singapore, Singapore"])):
        p.line(130, name, size=12, centre=cx)
        for k, text in enumerate(lines):
            p.line(143 + 10 * k, text, size=10, centre=cx)
    ext = run(backend, p.finish(tmp_path / "grid.pdf"))
    assert countries_of(ext) == {"Lin Qiu": ["US"], "Ruifeng Ye": ["CN"], "Kok-Wai Tan": ["SG"]}
    assert [a.raw for a in ext.affiliations] == ["Texas A&M University, USA", "Shandong University, China",
                                                 "National University of Singapore, Singapore"]


def test_stacked_names_share_their_cell(backend: RulesBackend, tmp_path: Path) -> None:
    """ACM style: two names one above the other, then their email, company and city."""
    p = Page()
    for k, text in enumerate(["Jun Ma", "Yifan Gao"]):
        p.line(130 + 13 * k, text, size=12, centre=170)
    for k, text in enumerate(["{ruide.lc,michong.lzy}@alibaba-inc.com", "Alibaba Group", "Beijing, China"]):
        p.line(158 + 12 * k, text, size=10, centre=170)
    p.line(130, "Kai Deng", size=12, centre=440)
    for k, text in enumerate(["hzhao@cse.ust.hk", "Hong Kong University of Science and", "Technology",
                              "Kowloon, Hong Kong"]):
        p.line(143 + 12 * k, text, size=10, centre=440)
    ext = run(backend, p.finish(tmp_path / "acm.pdf"))
    assert countries_of(ext) == {"Jun Ma": ["CN"], "Yifan Gao": ["CN"], "Kai Deng": ["HK"]}


def test_marker_only_lines(backend: RulesBackend, tmp_path: Path) -> None:
    """A marker alone on its line labels the affiliation printed on the next line."""
    p = Page()
    p.runs(130, [("Anna Berg", False), ("1", True), (", Jun Wang", False), ("2", True)])
    p.runs(150, [("1", True)], size=10)
    p.line(160, "University of Copenhagen, Denmark", size=10)
    p.runs(174, [("2", True)], size=10)
    p.line(184, "Fudan University, Shanghai, China", size=10)
    ext = run(backend, p.finish(tmp_path / "marker-lines.pdf"))
    assert countries_of(ext) == {"Anna Berg": ["DK"], "Jun Wang": ["CN"]}


def test_authors_are_with_footnote(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.line(130, "Lei Shen, Qiang Luo, Ming Hu", size=11, bold=True)
    ext = run(backend, p.finish(tmp_path / "ieee.pdf", footnotes=[
        [("The authors are with the School of Computer Science, Fudan University, Shanghai, China.", False)],
    ]))
    assert countries_of(ext) == {"Lei Shen": ["CN"], "Qiang Luo": ["CN"], "Ming Hu": ["CN"]}


def test_model_mentions_in_the_bibliography_do_not_count(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Ana Lopez", False), ("1", True)])
    p.runs(148, [("1", True), ("University of Toronto, Canada", False)], size=10)
    ext = run(backend, p.finish(tmp_path / "refs.pdf", title="Fine-tuning BERT for Author Blocks",
                                references="[1] H. Touvron et al. LLaMA: Open and efficient foundation language models. 2023."))
    families = {m.family.casefold() for m in ext.model_mentions}
    assert "bert" in families and "llama" not in families
    assert next(m for m in ext.model_mentions if m.family.casefold() == "bert").where.value == "title"


def test_grid_row_printed_close_together(backend: RulesBackend, tmp_path: Path) -> None:
    """Two cells whose lines come out of the PDF as one line each (a narrow gap between cells)."""
    p = Page()
    p.page.insert_text((150, 130), "Alice Smith", fontsize=11, fontname="tibo")
    p.page.insert_text((226, 130), "Bob Jones", fontsize=11, fontname="tibo")
    p.page.insert_text((140, 143), "University of Toronto", fontsize=10)
    p.page.insert_text((246, 143), "Peking University", fontsize=10)
    p.page.insert_text((145, 156), "alice@cs.toronto.edu", fontsize=9, fontname="cour")
    p.page.insert_text((262, 156), "bob@pku.edu.cn", fontsize=9, fontname="cour")
    ext = run(backend, p.finish(tmp_path / "close.pdf"))
    assert countries_of(ext) == {"Alice Smith": ["CA"], "Bob Jones": ["CN"]}
    assert [a.email for a in ext.authors] == ["alice@cs.toronto.edu", "bob@pku.edu.cn"]


def test_wrapped_affiliation_in_a_cell_stays_one_unit(backend: RulesBackend, tmp_path: Path) -> None:
    """"Center for X, Massachusetts" / "Institute of Technology": the name runs over the break."""
    p = Page()
    p.line(130, "Remi Lam", bold=True, centre=200)
    p.line(143, "Center for Computational Engineering, Massachusetts", size=10, centre=200)
    p.line(154, "Institute of Technology", size=10, centre=200)
    p.line(130, "Karen Willcox", bold=True, centre=420)
    p.line(143, "University of Texas at Austin", size=10, centre=420)
    ext = run(backend, p.finish(tmp_path / "wrap.pdf"))
    assert institutions_of(ext, "Remi Lam") == ["Massachusetts Institute of Technology"]
    assert ext.countries() == ["US"]
