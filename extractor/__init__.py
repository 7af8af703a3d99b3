"""collabscope: who collaborates with whom in AI research, from PDFs to defensible numbers."""

import sys as _sys

# PyMuPDF 2 imports its optional ONNX page-layout model (pymupdf.layout, pymupdf4llm) on
# first import: about a second of start-up for every command and worker, and onnxruntime
# threads in a process that later forks ingest workers. collabscope reads layout from text
# spans and never uses them, so both imports are declined (pymupdf catches ImportError).
for _optional in ("pymupdf.layout", "pymupdf4llm"):
    _sys.modules.setdefault(_optional, None)  # type: ignore[arg-type]

__version__ = "0.1.0"
