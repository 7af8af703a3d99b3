"""collabscope: who collaborates with whom in AI research, from PDFs to defensible numbers."""

__version__ = "0.1.0"
