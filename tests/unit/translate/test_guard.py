"""A bug while translating one object becomes a warning naming it; the rest goes on."""

from __future__ import annotations

from hatchway.status import ReportWarning
from hatchway.status.findings import Finding
from hatchway.translate.core import _guard


def test_a_failing_object_is_named_in_its_warning() -> None:
    warnings: list[ReportWarning] = []

    def fails() -> None:
        raise KeyError("x")

    assert _guard(("HTTPRoute", "ns", "r"), warnings, fails) is None
    assert warnings == [
        ReportWarning(
            "HTTPRoute/ns/r",
            "internal error, object skipped: KeyError('x')",
            Finding.INTERNAL_ERROR,
        )
    ]
    assert _guard(("HTTPRoute", "ns", "ok"), warnings, lambda: 7) == 7
    assert len(warnings) == 1
