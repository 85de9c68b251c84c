"""Path modifiers (URLRewrite and RequestRedirect) with Gateway API's element-wise semantics.

ReplacePrefixMatch swaps the matched path *elements* (spec-semantics §4.7 table):
`/foo/bar` with prefix `/foo` and replacement `/xyz` -> `/xyz/bar`; `/foo` -> `/xyz`;
`/foo/` -> `/xyz/`; replacement `` or `/` never yields `//` (`/foo/bar` -> `/bar`, `/foo` -> `/`).

Envoy's `prefix_rewrite` swaps characters, which is right only when both the matched prefix
and the replacement are non-empty after trimming trailing slashes (the route's
`path_separated_prefix` match guarantees an element boundary follows). The other cases use
`regex_rewrite`, which Envoy applies to the path only and which keeps the query string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hatchway.ir import PathModifier, PathModifierType
from hatchway.xds.matches import path_prefix


@dataclass(frozen=True)
class PathRewrite:
    """Exactly one of the three is set."""

    full: str | None = None  # replace the whole path (query kept)
    prefix: str | None = None  # Envoy prefix_rewrite
    regex: tuple[str, str] | None = None  # (RE2 pattern, substitution)


def path_rewrite(mod: PathModifier) -> PathRewrite:
    if mod.type is PathModifierType.FULL:
        return PathRewrite(full=mod.value)
    matched = path_prefix(mod.matched_prefix or "/")
    replacement = path_prefix(mod.value)
    if matched and replacement:
        return PathRewrite(prefix=replacement)
    if not replacement:
        # Drop the matched elements and any slashes after them: `/foo/bar` -> `/bar`,
        # `/foo` and `/foo/` -> `/`.
        return PathRewrite(regex=(f"^{re.escape(matched)}/*", "/"))
    # Matched prefix is `/` (every path): put the replacement in front, element-wise.
    return PathRewrite(regex=("^/", _escape_substitution(replacement) + "/"))


def full_path_regex(value: str) -> tuple[str, str]:
    """ReplaceFullPath for a forwarded request: replace the path, keep the query string.

    Envoy's `regex_rewrite` is applied to the path without the query and the query is
    re-appended, so the whole-path pattern keeps `?a=b` (a literal `prefix_rewrite` could not).
    """
    return ("^/.*$", _escape_substitution(value))


def _escape_substitution(value: str) -> str:
    # RE2 substitutions treat `\` as the escape for `\1` groups.
    return value.replace("\\", "\\\\")
