"""IR Match -> Envoy RouteMatch."""

from __future__ import annotations

from typing import Any

from hatchway.ir import Match, PathMatchType


def fill_route_match(out: Any, match: Match) -> None:
    """Fill a `route.v3.RouteMatch` in place (mutation is faster than nested constructors)."""
    path = match.path
    if path.type is PathMatchType.EXACT:
        out.path = path.value
    elif path.type is PathMatchType.REGEX:
        out.safe_regex.regex = path.value  # RE2, full match on the path without the query
    else:
        prefix = path_prefix(path.value)
        if prefix:
            # Element-wise: `/foo` matches `/foo`, `/foo/`, `/foo/x`, never `/foobar`.
            # Envoy rejects a trailing `/` here, and the spec ignores it: both trimmed.
            out.path_separated_prefix = prefix
        else:
            out.prefix = "/"
    if match.method is not None:
        h = out.headers.add()
        h.name = ":method"
        h.string_match.exact = match.method
    for header in match.headers:
        h = out.headers.add()
        h.name = header.name.lower()  # HTTP/2 and Envoy's header map are lower-case
        if header.regex:
            h.string_match.safe_regex.regex = header.value
        else:
            h.string_match.exact = header.value
    for query in match.query:
        q = out.query_parameters.add()
        q.name = query.name  # case-sensitive, as the spec requires
        if query.regex:
            q.string_match.safe_regex.regex = query.value
        else:
            q.string_match.exact = query.value


def path_prefix(value: str) -> str:
    """A PathPrefix value without trailing slashes; `""` for the catch-all `/`."""
    return value.rstrip("/")
