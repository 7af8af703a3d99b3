"""Rules backend on layouts of papers it was not developed on: page-1 figures, journal
footnote sentences, wrapped and mixed author lists, authors without markers, company papers
with no affiliation line. Every PDF is drawn here with pymupdf; names and organisations are
made up or generic public ones.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from extractor.extract.rules import RulesBackend
from extractor.ingest.files import read_document
from extractor.ingest.layout import expand_emails, figure_regions
from extractor.schemas import AFFILIATION_SIGNALS, AUTHOR_LINKS, PaperExtraction
from tests.test_rules_edges import Page, countries_of, run


@pytest.fixture(scope="module")
def backend() -> RulesBackend:
    return RulesBackend()


def links(ext: PaperExtraction) -> dict[str, str | None]:
    return {a.name: a.link for a in ext.authors}


def _image(page: pymupdf.Page, rect: pymupdf.Rect) -> None:
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 60, 40), False)
    pix.clear_with(180)
    page.insert_image(rect, pixmap=pix, keep_proportion=False)


# --------------------------------------------------------------------------- figures


def test_teaser_figure_under_the_author_block_gives_no_affiliation(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Ana Lima", False), ("1", True), (", Ben Ortiz", False), ("2", True)])
    p.runs(146, [("1", True), ("University of Oslo", False), ("   ", False), ("2", True), ("Aalto University", False)],
             size=10)
    # a teaser figure between the author block and the abstract: an image, a big label and a
    # chat transcript that names a place, with its caption under it
    _image(p.page, pymupdf.Rect(150, 165, 460, 255))
    p.page.insert_text((170, 190), "DEMO", fontsize=22)
    p.page.insert_text((170, 215), "User: Where is the harbour?", fontsize=9)
    p.page.insert_text((170, 228), "Bot: Lisbon, Portugal", fontsize=9)
    p.runs(270, [("Figure 1: A conversation with the system.", False)], size=9)
    path = p.finish(tmp_path / "teaser.pdf")
    doc = read_document(path)
    front = doc.front
    assert front is not None
    assert front.title == "A Careful Study of Author Blocks in Papers"
    figure_text = {front.lines[i].text.strip() for i in front.figure_lines}
    assert {"DEMO", "Bot: Lisbon, Portugal"} <= figure_text
    assert not set(front.figure_lines) & set(front.author_lines)
    ext = backend.extract(doc)
    assert countries_of(ext) == {"Ana Lima": ["NO"], "Ben Ortiz": ["FI"]}
    assert ext.countries() == ["FI", "NO"]
    assert all("figure_region" not in a.signals for a in ext.affiliations)


def test_image_banner_behind_the_title_is_not_a_figure(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    _image(p.page, pymupdf.Rect(60, 55, 552, 100))  # a coloured band behind the title
    p.runs(130, [("Ana Lima", False), ("1", True)])
    p.runs(146, [("1", True), ("University of Oslo", False)], size=10)
    doc = read_document(p.finish(tmp_path / "banner.pdf"))
    assert doc.front is not None and doc.front.figure_lines == []
    assert doc.front.title == "A Careful Study of Author Blocks in Papers"
    assert countries_of(backend.extract(doc)) == {"Ana Lima": ["NO"]}


def test_figure_regions_need_an_image_or_a_caption(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    shape = page.new_shape()
    for k in range(5):  # a vector plot: bars side by side
        shape.draw_rect(pymupdf.Rect(330 + 30 * k, 300 - 20 * k, 356 + 30 * k, 400))
        shape.finish(color=(0, 0, 0), fill=(0.5, 0.5, 0.8))
    shape.draw_rect(pymupdf.Rect(60, 450, 280, 560))  # a frame with two rules (a boxed abstract)
    shape.finish(color=(0, 0, 0))
    for y in (500, 530):
        shape.draw_line((60, y), (280, y))
        shape.finish(color=(0, 0, 0))
    shape.draw_line((72, 120), (540, 120))  # a rule under the title
    shape.finish(color=(0, 0, 0))
    shape.commit()
    page.insert_text((330, 420), "Figure 2: Bars.", fontsize=9)
    page.insert_text((70, 470), "Abstract text in a frame.", fontsize=10)
    regions = figure_regions(page)
    assert len(regions) == 2  # the plot and the frame; the rule under the title is no region
    assert not any(image for _, image in regions)
    path = tmp_path / "plot.pdf"
    doc.save(path)
    front = read_document(path).front
    assert front is not None
    texts = {front.lines[i].text for i in front.figure_lines}
    assert "Figure 2: Bars." in texts
    assert "Abstract text in a frame." not in texts  # a frame with no caption is not a figure


# --------------------------------------------------------------------------- journal footnotes


def test_footnote_sentences_give_each_author_their_own_affiliation(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.line(130, "Marta Rossi, Bruno Keller, and Chloe Dubois", size=11)
    ext = run(backend, p.finish(tmp_path / "journal.pdf", footnotes=[
        [("M. Rossi and B. Keller are with the Department of Physics, University of Oslo,", False)],
        [("Oslo, Norway (e-mail: marta.rossi@fys.uio.no). C. Dubois is with Aalto University, Espoo, Finland.", False)],
    ]))
    assert countries_of(ext) == {"Marta Rossi": ["NO"], "Bruno Keller": ["NO"], "Chloe Dubois": ["FI"]}
    assert set(links(ext).values()) == {"footnote_name"}


def test_bracket_email_group_is_expanded() -> None:
    assert expand_emails("Norway. [m-rossi, keller,\nc-dubois]@lab.example.org") == [
        "m-rossi@lab.example.org", "keller@lab.example.org", "c-dubois@lab.example.org"]


# --------------------------------------------------------------------------- author lists


def test_long_author_list_wrapping_mid_name(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.line(130, "Ana Lima, Ben Ortiz, Carla Mendes, Dario Russo, Eva", size=10)
    p.line(141, "Nowak, Femi Adeyemi, Gustav Berg.", size=10)
    p.line(160, "University of Oslo", size=10)
    ext = run(backend, p.finish(tmp_path / "long.pdf"))
    assert [a.name for a in ext.authors] == [
        "Ana Lima", "Ben Ortiz", "Carla Mendes", "Dario Russo", "Eva Nowak", "Femi Adeyemi", "Gustav Berg"]
    assert all(c == ["NO"] for c in countries_of(ext).values())


def test_baseline_labels_after_a_superscript_on_one_line(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Ana Lima", False), ("1,3", True), (", Ben Ortiz", False), ("2", True), (", Carla Mendes", False),
                 ("4", True)])
    p.runs(146, [("1", True), (" University of Oslo, 2 Aalto University,", False)], size=10)
    p.runs(158, [("3", True), (" ETH Zurich, 4 Fudan University", False)], size=10)
    ext = run(backend, p.finish(tmp_path / "mixed.pdf"))
    assert countries_of(ext) == {"Ana Lima": ["CH", "NO"], "Ben Ortiz": ["FI"], "Carla Mendes": ["CN"]}
    assert set(links(ext).values()) == {"marker"}


def test_marked_correspondence_note_gives_its_address_to_the_marked_author(backend: RulesBackend,
                                                                             tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Ana Lima", False), ("1", True), (", Ben Ortiz", False), ("1,†", True)])
    p.runs(146, [("1", True), ("University of Oslo", False)], size=10)
    ext = run(backend, p.finish(tmp_path / "corr.pdf", footnotes=[
        [("†", True), ("Corresponding author: zed42@example.org", False)],
    ]))
    assert {a.name: a.email for a in ext.authors} == {"Ana Lima": None, "Ben Ortiz": "zed42@example.org"}
    assert countries_of(ext) == {"Ana Lima": ["NO"], "Ben Ortiz": ["NO"]}


def test_moved_on_note_is_not_the_marked_authors_affiliation(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.line(130, "Ana Lima", size=10, bold=True, x=100)
    p.line(142, "University of Oslo, Norway", size=10, x=100)
    p.runs(130, [("Ben Ortiz", False), ("*", True)], size=10, bold=True, x=360)
    p.line(142, "Aalto University, Finland", size=10, x=360)
    ext = run(backend, p.finish(tmp_path / "moved.pdf", footnotes=[
        [("*", True), ("B. Ortiz joined NVIDIA and can be reached at bortiz@nvidia.com", False)],
    ]))
    assert countries_of(ext) == {"Ana Lima": ["NO"], "Ben Ortiz": ["FI"]}


def test_wrapped_subject_word_continues_the_unit(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.line(130, "Ana Lima", size=12, x=110)
    p.line(144, "Institute of Applied", size=10, x=100)
    p.line(156, "Mathematics, Fudan University", size=10, x=100)
    p.line(168, "Shanghai, China", size=10, x=100)
    ext = run(backend, p.finish(tmp_path / "wrap.pdf"))
    assert [a.raw for a in ext.affiliations] == ["Institute of Applied Mathematics, Fudan University, Shanghai, China"]


# --------------------------------------------------------------------------- unlinked authors


def test_names_without_markers_link_by_order_to_as_many_marked_units(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.line(130, "Ana Lima, Ben Ortiz", size=11)  # the superscripts were lost
    p.runs(146, [("1", True), ("University of Oslo", False), ("   ", False), ("2", True), ("Aalto University", False)],
             size=10)
    ext = run(backend, p.finish(tmp_path / "lost.pdf"))
    assert countries_of(ext) == {"Ana Lima": ["NO"], "Ben Ortiz": ["FI"]}
    assert links(ext) == {"Ana Lima": "order", "Ben Ortiz": "order"}


def test_unmarked_author_among_marked_ones_links_only_by_email(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Ana Lima", False), ("1", True), (", Ben Ortiz, Carla Mendes", False), ("1", True),
                 (", Dario Russo", False)])
    p.runs(146, [("1", True), ("University of Oslo", False), ("   ", False), ("2", True), ("ETH Zurich", False)],
             size=10)
    p.line(160, "ana.lima@uio.no, ben.ortiz@ethz.ch", size=9)
    ext = run(backend, p.finish(tmp_path / "unmarked.pdf"))
    assert countries_of(ext) == {"Ana Lima": ["NO"], "Ben Ortiz": ["CH"], "Carla Mendes": ["NO"], "Dario Russo": []}
    assert links(ext) == {"Ana Lima": "marker", "Ben Ortiz": "email", "Carla Mendes": "marker", "Dario Russo": None}


def test_equal_contribution_marks_are_not_affiliation_markers(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Ana Lima", False), ("*1", True), (", Ben Ortiz", False), ("*2", True)])
    p.runs(146, [("1", True), ("University of Oslo", False), ("   ", False), ("2", True), ("Aalto University", False)],
             size=10)
    ext = run(backend, p.finish(tmp_path / "equal.pdf", footnotes=[[("*", True), ("Core contributors", False)]]))
    assert [a.raw for a in ext.affiliations] == ["University of Oslo", "Aalto University"]


def test_team_note_names_the_organisation_when_no_affiliation_is_printed(backend: RulesBackend,
                                                                         tmp_path: Path) -> None:
    p = Page()
    p.line(130, "Ana Lima, Ben Ortiz, Carla Mendes", size=11)
    ext = run(backend, p.finish(tmp_path / "team.pdf", footnotes=[
        [("Primary authors listed alphabetically; a project of the NVIDIA team.", False)],
    ]))
    assert [(a.institution, a.signals) for a in ext.affiliations] == [("NVIDIA", ["inferred_team_note"])]
    assert all(c == ["US"] for c in countries_of(ext).values())
    assert set(links(ext).values()) == {"all_authors"}


def test_email_domains_name_the_organisation_when_nothing_else_does(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.line(130, "Ana Lima, Ben Ortiz", size=11)
    p.line(146, "ana.lima@uio.no, bortiz@ethz.ch", size=9)
    ext = run(backend, p.finish(tmp_path / "domains.pdf"))
    assert countries_of(ext) == {"Ana Lima": ["NO"], "Ben Ortiz": ["CH"]}
    assert all(a.signals == ["inferred_email"] for a in ext.affiliations)
    assert links(ext) == {"Ana Lima": "email", "Ben Ortiz": "email"}


def test_signals_and_links_use_the_documented_values(backend: RulesBackend, tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Ana Lima", False), ("1", True), (", Ben Ortiz", False), ("2", True)])
    p.runs(146, [("1", True), ("Spiketrap", False), ("   ", False), ("2", True), ("Aalto University", False)], size=10)
    ext = run(backend, p.finish(tmp_path / "bare.pdf"))
    assert {a.raw: a.signals for a in ext.affiliations} == {"Spiketrap": ["no_org_word"], "Aalto University": []}
    for a in ext.affiliations:
        assert set(a.signals) <= AFFILIATION_SIGNALS
    assert {a.link for a in ext.authors} <= AUTHOR_LINKS


def test_names_without_markers_link_by_column_to_the_unit_set_under_them(backend: RulesBackend,
                                                                           tmp_path: Path) -> None:
    p = Page()
    p.line(130, "Ana Lima", size=11, centre=170)  # two columns; the names lost their superscripts
    p.line(130, "Ben Ortiz", size=11, centre=440)
    p.runs(146, [("2", True), ("Aalto University", False)], size=10, centre=170)
    p.runs(146, [("1", True), ("University of Oslo", False)], size=10, centre=440)
    ext = run(backend, p.finish(tmp_path / "columns.pdf"))
    assert countries_of(ext) == {"Ana Lima": ["FI"], "Ben Ortiz": ["NO"]}
    assert links(ext) == {"Ana Lima": "column", "Ben Ortiz": "column"}


def test_running_header_names_the_organisation_when_no_affiliation_is_printed(backend: RulesBackend,
                                                                              tmp_path: Path) -> None:
    p = Page()
    p.line(40, "Microsoft Research", size=9, x=72)  # the report's running header, above the title
    p.line(130, "Ana Lima, Ben Ortiz", size=11)
    ext = run(backend, p.finish(tmp_path / "header.pdf"))
    assert [(a.institution, a.signals) for a in ext.affiliations] == [("Microsoft", ["inferred_header"])]
    assert countries_of(ext) == {"Ana Lima": ["US"], "Ben Ortiz": ["US"]}


def test_a_figure_canvas_drawn_past_the_page_does_not_swallow_the_author_block(backend: RulesBackend,
                                                                               tmp_path: Path) -> None:
    p = Page()
    p.runs(130, [("Ana Lima", False), ("1", True), (", Ben Ortiz", False), ("2", True)])
    p.runs(146, [("1", True), ("University of Oslo", False)], size=10)
    p.runs(160, [("2", True), ("Aalto University", False)], size=10)
    shape = p.page.new_shape()  # a figure's blank canvas, exported far larger than what it shows
    shape.draw_rect(pymupdf.Rect(250, 150, 800, 420))
    shape.finish(fill=(1, 1, 1), color=None)
    shape.commit()
    _image(p.page, pymupdf.Rect(330, 200, 540, 280))
    doc = read_document(p.finish(tmp_path / "canvas.pdf"))
    assert doc.front is not None
    assert not set(doc.front.figure_lines) & set(doc.front.author_lines)
    assert countries_of(backend.extract(doc)) == {"Ana Lima": ["NO"], "Ben Ortiz": ["FI"]}
