"""Hatchway: a Gateway API implementation on Envoy."""

__version__ = "0.1.0"
