"""Hatchway benchmarks: `python -m benchmarks` (or `make bench`). Results in README.md."""
