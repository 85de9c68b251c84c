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


def findings(report: StatusReport, kind: str, namespace: str | None, name: str) -> list[str]:
    """Everything `status` would flag about the object, own status first."""
    out: list[str] = []
    status = report.get(kind, namespace, name)
    if status is not None:
        out += [str(p) for p in problems([resource_to_dict(status)])]
    out += warnings_about(report.warnings, object_ref(kind, namespace, name))
    return out


def warnings_about(warnings: Iterable[ReportWarning], ref: str) -> list[str]:
    """The warnings on `ref`, then those on other objects whose message names `ref`."""
    names = re.compile(re.escape(ref) + r"(?=[ /:;,)]|$)")
    own: list[str] = []
    others: list[str] = []
    for w in warnings:
        if severity(w.code) == "info":
            continue
        if w.object == ref:
            own.append(f"{_spoken(w.object)}: {w.message} [{w.code}]")
        elif names.search(w.message):
            others.append(f"{_spoken(w.object)}: {w.message} [{w.code}]")
    return own + others


def for_kubectl(lines: Iterable[str]) -> list[str]:
    """One line each, control characters out, bounded in length and number."""
    out: list[str] = []
    seen: set[str] = set()
    for line in lines:
        text = _CONTROL.sub(" ", line)
        if len(text) > MAX_LENGTH:
            text = text[: MAX_LENGTH - 1] + "…"
        if text not in seen:
            seen.add(text)
            out.append(text)
    if len(out) > MAX_WARNINGS:
        more = len(out) - (MAX_WARNINGS - 1)
        out = [*out[: MAX_WARNINGS - 1], f"… and {more} more: see `hatchway status` or the status"]
    return out
