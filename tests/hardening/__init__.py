"""Hardening tests: schema fuzzing, XSS fuzzing, abuse under load, and cross-cutting checks."""
