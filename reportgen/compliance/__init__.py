"""Compliance checks on every build (work in progress)."""
