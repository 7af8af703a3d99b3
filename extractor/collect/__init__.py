"""Collectors: a venue's papers and metadata from OpenReview, arXiv or a paperlists file.

Each collector lists a venue's papers into the store (:mod:`extractor.store.venue`), and on
request downloads their PDFs through the polite, verifying downloader of :mod:`.http`;
the PDFs then go through the normal ingest path, linked to their venue papers by sha256.
Everything a collector stores is committed step by step, so a re-run fetches nothing it
already has.
"""
