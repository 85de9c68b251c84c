"""`admission.review`: what is denied (only what cannot serve whatever else exists, for our
objects) and what is warned about (what `hatchway status` would say about the object)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hatchway.admission import review
from hatchway.translate import TranslateMemo, translate

from .cluster import GW, on_gw, route, rule, snapshot

BAD_REGEX = {"path": {"type": "RegularExpression", "value": "/a(?=b)"}}
REMOVES_HOST = {"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": ["Host"]}}


def _only(lines: tuple[str, ...], *needles: str) -> str:
    """The one line that holds every needle."""
    hits = [line for line in lines if all(n in line for n in needles)]
    assert len(hits) == 1, lines
    return hits[0]


# --- denied -------------------------------------------------------------------------------


def test_a_regex_re2_rejects_is_denied_naming_the_field() -> None:
    body = route(on_gw({"matches": [BAD_REGEX]}))
    verdict = review(body, "CREATE", snapshot())
    assert not verdict.allowed
    assert verdict.denied == (
        'spec.rules[0].matches[0].path.value: Invalid value: "/a(?=b)": invalid regular '
        "expression: invalid perl operator: (?=",
    )


def test_every_refused_value_is_named_not_only_the_first() -> None:
    body = route(
        on_gw(
            rule(filters=[REMOVES_HOST]),
            {"matches": [{"headers": [{"type": "RegularExpression", "name": "x", "value": "("}]}]},
        )
    )
    denied = review(body, "UPDATE", snapshot()).denied
    assert [d.split(":")[0] for d in denied] == [
        "spec.rules[0].filters[0].requestHeaderModifier.remove[0]",
        "spec.rules[1].matches[0].headers[0].value",
    ]
    assert "the Host header cannot be removed" in denied[0]


def test_a_grpc_method_regex_re2_rejects_is_denied() -> None:
    method = {"type": "RegularExpression", "service": "pkg\\.(?!x)", "method": "Get"}
    body = route({"parentRefs": [{"name": "gw"}], "rules": [{"matches": [{"method": method}]}]})
    body["kind"] = "GRPCRoute"
    (denied,) = review(body, "CREATE", snapshot()).denied
    assert denied.startswith("spec.rules[0].matches[0].method.service: Invalid value")


def test_what_the_model_cannot_read_is_denied_for_our_objects() -> None:
    body = route(on_gw(rule(), {"bogus": 1}))
    assert review(body, "CREATE", snapshot()).denied == ("spec.rules[1].bogus: unknown field",)
    gateway = {
        "apiVersion": GW,
        "kind": "Gateway",
        "metadata": {"name": "g2", "namespace": "default"},
        "spec": {"gatewayClassName": "ours", "listeners": [{"name": "l", "port": 0}]},
    }
    denied = review(gateway, "CREATE", snapshot()).denied
    assert any(d.startswith("spec.listeners[0].port") for d in denied), denied
    gateway["spec"]["gatewayClassName"] = "theirs"
    assert review(gateway, "CREATE", snapshot()).allowed


def test_through_a_listener_set_the_route_is_ours() -> None:
    body = route(
        {
            "parentRefs": [{"kind": "ListenerSet", "name": "extra"}],
            "rules": [{"matches": [BAD_REGEX]}],
        }
    )
    assert not review(body, "CREATE", snapshot()).allowed


# --- never denied -------------------------------------------------------------------------


def test_another_controllers_route_is_allowed_without_a_word() -> None:
    body = route({"parentRefs": [{"name": "other"}], "rules": [{"matches": [BAD_REGEX]}]})
    verdict = review(body, "CREATE", snapshot())
    assert verdict.allowed and verdict.warnings == () and verdict.settled


def test_a_route_whose_parent_does_not_exist_is_warned_never_denied() -> None:
    """The Gateway may be another implementation's, created a second later."""
    body = route({"parentRefs": [{"name": "later"}], "rules": [{"matches": [BAD_REGEX]}]})
    verdict = review(body, "CREATE", snapshot())
    assert verdict.allowed
    assert verdict.warnings == (
        "HTTPRoute default/r: not served by Hatchway: parentRef Gateway default/later does not "
        "exist [ParentNotFound]",
    )
    assert not verdict.settled  # asked again once the view moves


def test_missing_backends_are_ordering_facts_warned_not_denied() -> None:
    body = route(on_gw({"backendRefs": [{"name": "not-yet", "port": 80}]}))
    verdict = review(body, "CREATE", snapshot())
    assert verdict.allowed
    _only(verdict.warnings, "ResolvedRefs=False", "not-yet", "[BackendNotFound]")


def test_an_update_is_not_denied_for_a_fault_the_stored_object_had() -> None:
    """As the API server ratchets CRD validation: a label change passes, with a warning."""
    old = route(on_gw({"matches": [BAD_REGEX]}))
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"team": "a"}
    verdict = review(new, "UPDATE", snapshot(), old=old)
    assert verdict.allowed
    line = _only(verdict.warnings, "HTTPRoute default/r: spec.rules[0].matches[0].path.value")
    assert line.endswith("(not served)")
    # A new fault in the same update is denied.
    new["spec"]["rules"].append({"filters": [REMOVES_HOST]})
    (denied,) = review(new, "UPDATE", snapshot(), old=old).denied
    assert denied.startswith("spec.rules[1].filters[0]")


@pytest.mark.parametrize("operation", ["DELETE", "CONNECT"])
def test_only_writes_are_judged(operation: str) -> None:
    body = route(on_gw({"matches": [BAD_REGEX]}))
    assert review(body, operation, snapshot()).allowed


def test_a_version_the_model_does_not_read_is_not_judged() -> None:
    body = route(on_gw({"matches": [BAD_REGEX]}))
    body["apiVersion"] = "gateway.networking.k8s.io/v1alpha9"
    assert review(body, "CREATE", snapshot()).allowed


def test_kinds_not_admitted_are_allowed() -> None:
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {}}
    assert review(body, "CREATE", snapshot()).allowed
    assert review("not an object", "CREATE", snapshot()).allowed


# --- warned: what status says -------------------------------------------------------------


def test_a_shadowed_rule_is_warned_naming_the_winner() -> None:
    verdict = review(route(on_gw(rule("/app"))), "CREATE", snapshot())
    assert verdict.allowed
    assert verdict.warnings == (
        "HTTPRoute default/r: rule 0 match 0 can never be selected on host app.example.com: "
        "HTTPRoute/default/first rule 0 match 0 always matches first [ShadowedRule]",
    )
    assert verdict.settled  # nothing missing: no reason to think the view lags


def test_the_rule_an_object_shadows_is_warned_about_too() -> None:
    """Updating the older route: the newer one's rule, which it shadows, names it."""
    late = route(on_gw(rule("/app")), name="late")
    first = route(on_gw(rule("/app")), name="first", created="2020-01-01T00:00:00Z")
    verdict = review(first, "UPDATE", snapshot(late))
    _only(verdict.warnings, "HTTPRoute default/late: rule 0", "HTTPRoute/default/first rule 0")


def test_a_parent_ref_to_a_missing_listener() -> None:
    spec = on_gw(rule("/r"))
    spec["parentRefs"] = [{"name": "gw", "sectionName": "https"}]
    verdict = review(route(spec), "CREATE", snapshot())
    _only(verdict.warnings, "parent Gateway gw/https: Accepted=False", "[NoMatchingParent]")
    assert not verdict.settled  # the listener may be added a moment later


def test_hostnames_no_listener_accepts() -> None:
    spec = on_gw(rule("/r"), hostnames=["app.example.org"])
    verdict = review(route(spec), "CREATE", snapshot())
    _only(verdict.warnings, "Accepted=False", "[NoMatchingListenerHostname]")


def test_a_backend_in_another_namespace_without_a_reference_grant() -> None:
    spec = on_gw({"backendRefs": [{"name": "svc", "namespace": "elsewhere", "port": 80}]})
    verdict = review(route(spec), "CREATE", snapshot())
    _only(verdict.warnings, "no ReferenceGrant in elsewhere allows it", "[RefNotPermitted]")


def test_a_parent_that_exists_and_one_that_does_not() -> None:
    spec = on_gw(rule("/r"))
    spec["parentRefs"].append({"name": "later"})
    verdict = review(route(spec), "CREATE", snapshot())
    assert verdict.warnings == (
        "HTTPRoute default/r: not served by Hatchway: parentRef Gateway default/later does not "
        "exist [ParentNotFound]",
    )


def test_a_clean_route_gets_no_warning() -> None:
    verdict = review(route(on_gw(rule("/r"))), "CREATE", snapshot())
    assert verdict.allowed and verdict.warnings == () and verdict.settled


def _gateway(class_name: str, listeners: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": GW,
        "kind": "Gateway",
        "metadata": {"name": "g2", "namespace": "default"},
        "spec": {"gatewayClassName": class_name, "listeners": listeners},
    }


HTTPS = {
    "name": "https",
    "port": 8443,
    "protocol": "HTTPS",
    "tls": {"certificateRefs": [{"name": "no-such-secret"}]},
}


def test_a_gateway_whose_certificate_secret_is_missing() -> None:
    verdict = review(_gateway("ours", [HTTPS]), "CREATE", snapshot())
    assert verdict.allowed
    _only(verdict.warnings, "Gateway default/g2 listener https: ResolvedRefs=False")


def test_gateways_of_other_or_unknown_classes() -> None:
    assert review(_gateway("theirs", [HTTPS]), "CREATE", snapshot()).warnings == ()
    verdict = review(_gateway("hatchwy", [HTTPS]), "CREATE", snapshot())
    assert verdict.warnings == (
        "Gateway default/g2: not served by Hatchway: GatewayClass 'hatchwy' does not exist "
        "[UnknownGatewayClass]",
    )


def test_our_gateway_class_with_parameters_that_do_not_exist() -> None:
    gc = {
        "apiVersion": GW,
        "kind": "GatewayClass",
        "metadata": {"name": "ours"},
        "spec": {
            "controllerName": "hatchway.dev/gateway-controller",
            "parametersRef": {
                "group": "hatchway.dev",
                "kind": "GatewayParameters",
                "name": "p",
                "namespace": "default",
            },
        },
    }
    verdict = review(gc, "UPDATE", snapshot())
    _only(verdict.warnings, "GatewayClass ours: Accepted=False", "[InvalidParameters]")


# --- the incremental path says the same ---------------------------------------------------


def test_a_memo_gives_the_verdicts_a_fresh_translation_gives() -> None:
    base = snapshot(route(on_gw(rule("/late")), name="late"))
    memo = TranslateMemo()
    translate(base, memo=memo)  # as the webhook warms up on a new view
    bodies = [
        route(on_gw(rule("/app"))),
        route(on_gw(rule("/r"), hostnames=["app.example.org"])),
        route(on_gw(rule("/late")), name="late"),
        route(on_gw(rule("/app")), name="first", created="2020-01-01T00:00:00Z"),
        route(on_gw({"backendRefs": [{"name": "svc", "namespace": "elsewhere", "port": 80}]})),
        _gateway("ours", [HTTPS]),
        route(on_gw(rule("/x")), name="r2"),
        route(on_gw(rule("/app")), name="r3"),
    ]
    for body in bodies:
        fresh = review(body, "CREATE", base)
        assert review(body, "CREATE", base, memo=memo) == fresh, body["metadata"]["name"]
    assert memo.delta_used is True  # the last route after a route: the incremental way
