"""Batch runs: many generations from a file, resumable, never paid twice (see kieframe.batch)."""
