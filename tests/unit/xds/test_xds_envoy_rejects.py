"""The Envoy validate harness used by the golden test really fails on bad config, and the
core's refusals (RE2 program size, header filters) agree with the real Envoy binary."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from hatchway import ir, xds
from hatchway.ir.re2 import MAX_PROGRAM_SIZE, compiled, re2_problem
from hatchway.model.routes import HTTPHeader, HTTPHeaderFilter
from hatchway.translate import refusals
from test_xds_golden import envoy_binary, static_bootstrap

from .ir_samples import http_ir, vhost


@pytest.mark.e2e
def test_envoy_validate_rejects_a_bad_regex(tmp_path: Path) -> None:
    bad = ir.Route(
        name="bad",
        origin=ir.Origin("HTTPRoute", "default", "bad"),
        match=ir.Match(ir.PathMatch(ir.PathMatchType.REGEX, "(unclosed")),
        action=ir.DirectResponse(200),
    )
    config = tmp_path / "bootstrap.json"
    boot = static_bootstrap(xds.build(http_ir(vhost("*", bad))))
    config.write_text(json.dumps(xds.message_to_dict(boot, show_secrets=True)))
    proc = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(config), "-l", "error"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "unclosed" in proc.stdout + proc.stderr


# --- What the core refuses is what Envoy refuses ----------------------------------------------


def _envoy_validate(tmp_path: Path, resources: xds.XdsResources, max_program: int) -> str | None:
    """None if Envoy accepts `resources` with `re2.max_program_size.error_level` at
    `max_program`, else its error."""
    boot = static_bootstrap(resources)
    layer = boot.layered_runtime.layers.add()
    layer.name = "static"
    layer.static_layer.update({"re2.max_program_size.error_level": max_program})
    config = tmp_path / "bootstrap.json"
    config.write_text(json.dumps(xds.message_to_dict(boot)))
    proc = subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(config), "-l", "critical"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return None if proc.returncode == 0 else (proc.stdout + proc.stderr)[-2000:]


def _regex_route(pattern: str) -> ir.Route:
    return ir.Route(
        name="re",
        origin=ir.Origin("HTTPRoute", "default", "re"),
        match=ir.Match(ir.PathMatch(ir.PathMatchType.REGEX, pattern)),
        action=ir.DirectResponse(200),
    )


@pytest.mark.e2e
@pytest.mark.parametrize(
    "pattern",
    [
        "/re/(alpha|beta|gamma)[0-9]+",
        "/(a{100}){10}",
        r"^/v\d+/[^/]+/items/\d{1,12}$",  # Envoy 40: Latin-1 (UTF-8 would say 46)
        "(?i)/x+.",
        "/(é|[\u03b1-\u03c9])+",  # Greek letters: a range of 2-byte sequences
    ],
)
def test_program_size_is_measured_exactly_as_envoy_does(tmp_path: Path, pattern: str) -> None:
    """google-re2's program size is Envoy's: Envoy accepts the pattern at exactly that limit
    and refuses it one below, quoting the same number."""
    size = compiled(pattern).programsize
    resources = xds.build(http_ir(vhost("*", _regex_route(pattern))))
    assert _envoy_validate(tmp_path, resources, size) is None
    refused = _envoy_validate(tmp_path, resources, size - 1)
    assert refused is not None and f"RE2 program size of {size} >" in refused


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("/(a{1000}){1000}", "invalid repetition size"),  # Python's `re` compiles it
        ("/\\x{100}", "invalid escape sequence"),  # a Latin-1 RE2 has no U+0100
    ],
)
def test_a_pattern_re2_refuses_is_refused_by_envoy_too(
    tmp_path: Path, pattern: str, reason: str
) -> None:
    problem = re2_problem(pattern)
    assert problem is not None and reason in problem
    resources = xds.build(http_ir(vhost("*", _regex_route(pattern))))
    refused = _envoy_validate(tmp_path, resources, MAX_PROGRAM_SIZE)
    assert refused is not None and reason in refused


def _header_route(modifier: ir.HeaderModifier, response: bool) -> ir.Route:
    r = _regex_route("/h")
    return (
        replace(r, response_headers=modifier) if response else replace(r, request_headers=modifier)
    )


def _refused_by_core(verb: str, name: str) -> bool:
    f = HTTPHeaderFilter.model_construct(
        set=(HTTPHeader.model_construct(name=name, value="v"),) if verb == "set" else (),
        add=(),
        remove=(name,) if verb == "remove" else (),
    )
    return next(refusals._headers("f", f), None) is not None


@pytest.mark.e2e
@pytest.mark.parametrize("response", [False, True])
@pytest.mark.parametrize(
    ("verb", "name"),
    [
        ("remove", "host"),
        ("remove", "Host"),
        ("remove", ":authority"),
        ("remove", ":path"),
        ("remove", ""),
        ("remove", "x-a\r\nx-injected"),
        ("remove", "x\x00y"),
        ("remove", "x-fine"),
        ("remove", "connection"),
        ("set", "host"),
        ("set", "HOST"),
        ("set", ":method"),
        ("set", "x-fine"),
        ("set", "te"),
    ],
)
def test_header_filters_are_refused_exactly_when_envoy_refuses_them(
    tmp_path: Path, verb: str, name: str, response: bool
) -> None:
    mod = (
        ir.HeaderModifier(remove=(name,))
        if verb == "remove"
        else ir.HeaderModifier(set=((name, "v"),))
    )
    resources = xds.build(http_ir(vhost("*", _header_route(mod, response))))
    envoy_refuses = _envoy_validate(tmp_path, resources, MAX_PROGRAM_SIZE) is not None
    assert _refused_by_core(verb, name) == envoy_refuses
