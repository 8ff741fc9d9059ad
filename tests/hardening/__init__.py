"""Hardening tests: schema fuzzing, XSS fuzzing, abuse under load, and issue 12's cross-cutting checks."""
