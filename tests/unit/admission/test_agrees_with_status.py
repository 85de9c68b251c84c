"""Admission and status never disagree: a route admission denies is one status would report
as not served, and a refusal status reports is one admission denies.

Routes are generated with values at every place a refusal can hide (regexes RE2 rejects or
finds too big, header names Envoy forbids, path modifiers with bad characters, session
names), mixed with harmless ones, and both sides are computed by their real entry points:
`admission.review` and `translate` rendered as `hatchway status` renders it.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hatchway.admission import review, with_object
from hatchway.render import report_to_dicts
from hatchway.status.problems import condition_sets
from hatchway.translate import translate
from snapshots import parse

from .cluster import route, snapshot

REGEXES = ["/ok/[a-z]+", "(?=x)", "(", "/(a{1000}){1000}", "", "\\x{100}", "é+", "[^/]+"]
HEADER_NAMES = ["x-ok", "Host", "host", ":path", "x-also-ok", "bad name"]
PATHS = ["/ok", "/a b", "rel", "/%zz", "/x?y", "", "/fine/%20"]
SESSIONS = ["ok", "a;b", "x y", "fine"]

_DROPPED = re.compile(r"Dropped Rule (\d+): ")
_RULE = re.compile(r"^spec\.rules\[(\d+)\]")


@st.composite
def _http_rule(draw: Any) -> dict[str, Any]:
    match: dict[str, Any] = {"path": {"type": "PathPrefix", "value": "/p"}}
    if draw(st.booleans()):
        match["path"] = {"type": "RegularExpression", "value": draw(st.sampled_from(REGEXES))}
    if draw(st.booleans()):
        value = draw(st.sampled_from(REGEXES))
        match["headers"] = [{"type": "RegularExpression", "name": "x", "value": value}]
    rule: dict[str, Any] = {"matches": [match], "backendRefs": [{"name": "svc", "port": 80}]}
    filters: list[dict[str, Any]] = []
    if draw(st.booleans()):
        name = draw(st.sampled_from(HEADER_NAMES))
        verb = draw(st.sampled_from(["set", "add", "remove"]))
        value: Any = [name] if verb == "remove" else [{"name": name, "value": "v"}]
        filters.append({"type": "RequestHeaderModifier", "requestHeaderModifier": {verb: value}})
    if draw(st.booleans()):
        path = {"type": "ReplaceFullPath", "replaceFullPath": draw(st.sampled_from(PATHS))}
        filters.append({"type": "URLRewrite", "urlRewrite": {"path": path}})
    if filters:
        rule["filters"] = filters
    if draw(st.booleans()):
        name = draw(st.sampled_from(SESSIONS))
        rule["sessionPersistence"] = {"type": "Header", "sessionName": name}
    return rule


@st.composite
def _grpc_rule(draw: Any) -> dict[str, Any]:
    service, method = draw(st.sampled_from(REGEXES)), draw(st.sampled_from([*REGEXES, None]))
    mm = {"type": "RegularExpression", "service": service or None, "method": method or None}
    return {"matches": [{"method": mm}], "backendRefs": [{"name": "svc", "port": 80}]}


@st.composite
def _routes(draw: Any) -> dict[str, Any]:
    grpc = draw(st.booleans())
    rules = draw(st.lists(_grpc_rule() if grpc else _http_rule(), min_size=1, max_size=3))
    body = route({"parentRefs": [{"name": "gw"}], "hostnames": ["app.example.com"], "rules": rules})
    body["kind"] = "GRPCRoute" if grpc else "HTTPRoute"
    return body


def _status_says(body: dict[str, Any]) -> tuple[bool, set[int], set[str]]:
    """As `hatchway status` would show the cluster with `body` in it: whether the route is
    read at all, the rules reported not served, and every condition message."""
    parsed = parse([body], "route.yaml")
    if parsed.errors:
        return False, set(), set()
    (obj,) = parsed.snapshot.http_routes or parsed.snapshot.grpc_routes
    report = report_to_dicts(translate(with_object(snapshot(), obj)).report)
    mine = [r for r in report["resources"] if r["kind"] == body["kind"]]
    messages = {c["message"] for _, _, cs in condition_sets(mine) for c in cs}
    dropped = {int(i) for m in messages for i in _DROPPED.findall(m)}
    for _, _, conditions in condition_sets(mine):
        for c in conditions:
            if c["type"] == "Accepted" and c["status"] == "False":
                dropped |= set(range(len(body["spec"]["rules"])))  # no rule left
    return True, dropped, messages


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_routes())
def test_admission_denies_exactly_what_status_reports_as_refused(body: dict[str, Any]) -> None:
    verdict = review(body, "CREATE", snapshot())
    read, dropped, messages = _status_says(body)
    if not read:  # dropped whole by validation: never served, so always denied
        assert not verdict.allowed
        return
    denied_rules = {int(_RULE.findall(d)[0]) for d in verdict.denied}
    # Denied -> status reports that rule as not served.
    assert denied_rules <= dropped, (verdict.denied, messages)
    # A refusal status reports -> denied, with the very same words.
    for message in messages:
        for part in re.split(r"; Dropped Rule \d+: |^Dropped Rule \d+: ", message):
            if _RULE.match(part) and ": Invalid value: " in part:
                assert part in verdict.denied, (part, verdict.denied)
    if not verdict.denied:
        assert not any("Invalid value" in m for m in messages), messages
