"""Ingest: PDF files -> ``documents`` rows (page-1 layout, front-matter text, errors), keyed by SHA-256.

:mod:`.batch` plans a batch (which files to parse) and writes its rows, whichever engine
parses: :mod:`.files` with supervised parser processes on this machine (:mod:`.workerpool`),
or :mod:`.distributed` on the workers of a Dask cluster. :mod:`.layout` turns page 1 into
lines, zones and spans.
"""
