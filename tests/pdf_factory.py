"""Small PDF builders for tests: good front matter and every kind of bad file.

Generated with pymupdf by the tests themselves; nothing is read from outside the repo.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf


def simple_paper(path: Path, *, title: str = "A Study of Things", authors: str = "Ada Lovelace, Alan Turing",
                 affiliation: str = "University of Cambridge, Cambridge, United Kingdom",
                 body: str = "We fine-tune BERT and compare against GPT-4.", extra: str = "") -> Path:
    """A one-page paper: title, authors, one affiliation, abstract, introduction."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    y = 90
    page.insert_text((72, y), title, fontsize=17, fontname="hebo")
    y += 40
    page.insert_text((72, y), authors, fontsize=11)
    y += 16
    page.insert_text((72, y), affiliation, fontsize=10)
    y += 14
    page.insert_text((72, y), "ada@cam.ac.uk", fontsize=9)
    y += 40
    page.insert_text((280, y), "Abstract", fontsize=12, fontname="hebo")
    y += 18
    page.insert_text((90, y), "We study things and report results that matter for the field. " + extra, fontsize=10)
    y += 40
    page.insert_text((72, y), "1 Introduction", fontsize=12, fontname="hebo")
    y += 18
    page.insert_text((72, y), body, fontsize=10)
    doc.save(path, garbage=3, deflate=True, no_new_id=True)
    doc.close()
    return path


def encrypted(path: Path) -> Path:
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "Secret paper with enough text to count as a text layer.", fontsize=11)
    path.write_bytes(doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner"))
    return path


def scanned(path: Path) -> Path:
    """A page that is only an image: no text layer."""
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 200, 100), False)
    pix.clear_with(200)
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_image(pymupdf.Rect(72, 72, 400, 300), pixmap=pix)
    doc.save(path)
    return path


def zero_pages(path: Path) -> Path:
    """A syntactically valid PDF whose page tree is empty (pymupdf refuses to save one)."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def truncated(path: Path, source: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def garbage_pdf(path: Path) -> Path:
    """Starts like a PDF, then nothing a parser can use."""
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    return path


def not_pdf(path: Path) -> Path:
    path.write_text("This is a plain text file that someone named .pdf\n" * 10)
    return path
