"""Helpers for tests and benchmarks that are not test fixtures: a real server process."""
