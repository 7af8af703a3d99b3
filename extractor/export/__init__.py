"""Export: records -> JSONL / CSV / Parquet with provenance, and the data card written beside them."""
