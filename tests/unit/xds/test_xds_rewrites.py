"""ReplacePrefixMatch mapping reproduces the spec's element-wise table (spec-semantics §4.7).

Envoy's two mechanisms are modelled here: `prefix_rewrite` swaps the matched prefix's
characters; `regex_rewrite` is a global RE2 replace on the path (these patterns are
anchored and plain, so Python's `re` behaves the same).
"""

from __future__ import annotations

import re

import pytest

from hatchway.ir import PathModifier, PathModifierType
from hatchway.xds.matches import path_prefix
from hatchway.xds.rewrites import path_rewrite

TABLE = [
    # request, matched prefix, replacement -> result
    ("/foo/bar", "/foo", "/xyz", "/xyz/bar"),
    ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
    ("/foo/bar", "/foo/", "/xyz", "/xyz/bar"),
    ("/foo/bar", "/foo/", "/xyz/", "/xyz/bar"),
    ("/foo", "/foo", "/xyz", "/xyz"),
    ("/foo/", "/foo", "/xyz", "/xyz/"),
    ("/foo/bar", "/foo", "", "/bar"),
    ("/foo/", "/foo", "", "/"),
    ("/foo", "/foo", "", "/"),
    ("/foo/", "/foo", "/", "/"),
    ("/foo", "/foo", "/", "/"),
    ("/strip-prefix/three", "/strip-prefix", "/", "/three"),
    ("/strip-prefix", "/strip-prefix", "/", "/"),
    ("/anything/x", "/", "/api", "/api/anything/x"),
]


def envoy_apply(request: str, matched: str, replacement: str) -> str:
    rw = path_rewrite(PathModifier(PathModifierType.PREFIX, replacement, matched))
    if rw.prefix is not None:
        return rw.prefix + request[len(path_prefix(matched)) :]
    assert rw.regex is not None
    pattern, substitution = rw.regex
    return re.sub(pattern, substitution.replace("\\", "\\\\"), request)


@pytest.mark.parametrize(("request_path", "matched", "replacement", "expected"), TABLE)
def test_prefix_replacement_table(
    request_path: str, matched: str, replacement: str, expected: str
) -> None:
    assert envoy_apply(request_path, matched, replacement) == expected


def test_full_path_replacement_is_literal() -> None:
    assert path_rewrite(PathModifier(PathModifierType.FULL, "/one")).full == "/one"
