"""`explain`: trace a request through the same IR, in the same order, the data plane uses."""

from hatchway.explain.request import Request
from hatchway.explain.trace import Candidate, Trace, explain

__all__ = ["Candidate", "Request", "Trace", "explain"]
