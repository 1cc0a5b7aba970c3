"""Interchangeable LLM backends behind one interface (see base.ExplanationBackend)."""
