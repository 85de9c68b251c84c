"""Canonical YAML/JSON rendering of statuses, IR and xDS (used by the CLI and golden tests)."""
