"""Evaluation: extractions against hand-checked gold, and routing against the truth."""
