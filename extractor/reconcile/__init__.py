"""Reconcile: the backends' extractions -> one record per paper, its review signals, confidence and routing."""
