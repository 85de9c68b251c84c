"""What `hatchway status` says about one object, as lines kubectl can print.

Read off the translation exactly as `status --check` reads it (`status.problems` on the
rendered status; the report's warnings with their severities), keeping only what concerns
the admitted object: the negative conditions of its own status, the warnings about it, and
the warnings about other objects that name it (a rule it shadows names it as the winner).
`info` findings (another controller's object, left alone on purpose) are not repeated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hatchway.render import resource_to_dict
from hatchway.status import ReportWarning, StatusReport
from hatchway.status.findings import severity
from hatchway.status.problems import problems

# kubectl prints each warning on its own line; the API server shortens warnings to 256
# characters once they total 4 KiB, and a long list hides the first lines: keep both short.
MAX_WARNINGS = 10
MAX_LENGTH = 400
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def object_ref(kind: str, namespace: str | None, name: str) -> str:
    """`Kind/namespace/name` (`Kind/name` cluster-scoped): how report warnings name objects."""
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def _spoken(ref: str) -> str:
    """`HTTPRoute/ns/name` -> `HTTPRoute ns/name`, as `status` prints objects."""
    return ref.replace("/", " ", 1)


Line = tuple[str, str]  # (what kubectl prints, the finding's code: a reason or a Finding)

# Findings that may only mean the view lags the API server: something the object refers to
# (or that lets it attach) is not there yet, e.g. a Gateway applied a moment before its routes.
MAY_BE_LAG = frozenset(
    {
        "ParentNotFound",
        "UnknownGatewayClass",
        "NoMatchingParent",
        "NotAllowedByListeners",
        "NoMatchingListenerHostname",
        "BackendNotFound",
        "RefNotPermitted",
        "InvalidCertificateRef",
        "InvalidCACertificateRef",
        "InvalidClientCertificateRef",
        "NoValidCACertificate",
        "InvalidParameters",
        "TargetNotFound",
    }
)


def findings(report: StatusReport, kind: str, namespace: str | None, name: str) -> list[Line]:
    """Everything `status` would flag about the object, own status first."""
    out: list[Line] = []
    status = report.get(kind, namespace, name)
    if status is not None:
        out += [(str(p), p.code) for p in problems([resource_to_dict(status)])]
    out += warnings_about(report.warnings, object_ref(kind, namespace, name))
    return out


def warnings_about(warnings: Iterable[ReportWarning], ref: str) -> list[Line]:
    """The warnings on `ref`, then those on other objects whose message names `ref`."""
    names = re.compile(re.escape(ref) + r"(?=[ /:;,)]|$)")
    own: list[Line] = []
    others: list[Line] = []
    for w in warnings:
        if severity(w.code) == "info":
            continue
        line = (f"{_spoken(w.object)}: {w.message} [{w.code}]", str(w.code))
        if w.object == ref:
            own.append(line)
        elif names.search(w.message):
            others.append(line)
    return own + others


def for_kubectl(lines: Iterable[Line]) -> tuple[str, ...]:
    """One line each, control characters out, bounded in length and number."""
    out: list[str] = []
    seen: set[str] = set()
    for line, _ in lines:
        text = _CONTROL.sub(" ", line)
        if len(text) > MAX_LENGTH:
            text = text[: MAX_LENGTH - 1] + "…"
        if text not in seen:
            seen.add(text)
            out.append(text)
    if len(out) > MAX_WARNINGS:
        more = len(out) - (MAX_WARNINGS - 1)
        out = [*out[: MAX_WARNINGS - 1], f"… and {more} more: see `hatchway status` or the status"]
    return tuple(out)


def settled(lines: Iterable[Line]) -> bool:
    """Whether none of the findings may come from a view that lags (see `MAY_BE_LAG`)."""
    return not any(code in MAY_BE_LAG for _, code in lines)
