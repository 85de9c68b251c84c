"""The webhook server over real HTTPS on loopback: AdmissionReview in, AdmissionReview out,
its certificate from the controller's CA for an IP address (a webhook reached by URL), and
the reviewer's time budget and settling on a view that lags."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from hatchway.model.snapshot import Snapshot
from hatchway.pki import Authority
from hatchway.runtime.reviewer import LATE, Reviewer
from hatchway.runtime.webhook import PATH, WebhookServer, WebhookSettings
from hatchway.translate import Settings
from unit.admission.cluster import on_gw, route, rule, snapshot

BAD_REGEX = {"path": {"type": "RegularExpression", "value": "/a(?=b)"}}


def _review(body: dict[str, Any], uid: str = "u-1", operation: str = "CREATE") -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "gateway.networking.k8s.io", "version": "v1", "kind": body["kind"]},
            "operation": operation,
            "namespace": "default",
            "name": body["metadata"]["name"],
            "object": body,
        },
    }


class Holder:
    """The controller's view, replaceable while the server runs."""

    def __init__(self, snap: Snapshot) -> None:
        self.view = (snap, Settings())

    def __call__(self) -> tuple[Snapshot, Settings]:
        return self.view


Post = Callable[[Any], Awaitable[tuple[int, Any]]]


def _serve(
    tmp_path: Path, holder: Holder, scenario: Callable[[Post], Awaitable[None]], **kw: float
) -> None:
    async def main() -> None:
        ca = Authority.create(dt.datetime.now(dt.UTC))
        (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
        reviewer = Reviewer(holder, **kw)
        settings = WebhookSettings(host="127.0.0.1", port=0, server_names=("127.0.0.1",))
        server = WebhookServer(reviewer, settings, ca)
        port = await server.start()
        trust = ssl.create_default_context(cafile=tmp_path / "ca.crt")  # verifies the IP SAN
        async with aiohttp.ClientSession() as session:

            async def post(doc: Any) -> tuple[int, Any]:
                url = f"https://127.0.0.1:{port}{PATH}"
                async with session.post(url, data=json.dumps(doc), ssl=trust) as resp:
                    return resp.status, await resp.json()

            try:
                await scenario(post)
            finally:
                await server.stop()
                reviewer.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_denied_with_the_field_and_warned_with_findings(tmp_path: Path) -> None:
    async def scenario(post: Post) -> None:
        status, doc = await post(_review(route(on_gw({"matches": [BAD_REGEX]})), uid="a-1"))
        assert status == 200 and doc["apiVersion"] == "admission.k8s.io/v1"
        answer = doc["response"]
        assert answer["uid"] == "a-1" and answer["allowed"] is False
        assert answer["status"]["code"] == 422
        assert answer["status"]["message"].startswith(
            "HTTPRoute default/r cannot be served by Hatchway: spec.rules[0].matches[0].path.value"
        )
        _, doc = await post(_review(route(on_gw(rule("/app"))), uid="a-2"))
        answer = doc["response"]
        assert answer["uid"] == "a-2" and answer["allowed"] is True and "status" not in answer
        assert answer["warnings"] == [
            "HTTPRoute default/r: rule 0 match 0 can never be selected on host app.example.com: "
            "HTTPRoute/default/first rule 0 match 0 always matches first [ShadowedRule]"
        ]
        _, doc = await post(_review(route(on_gw(rule("/clean"))), uid="a-3"))
        assert doc["response"] == {"uid": "a-3", "allowed": True}
        # The request's namespace, when the object names none.
        body = route(
            {
                "parentRefs": [{"name": "gw", "namespace": "default"}],
                "rules": [{"matches": [BAD_REGEX]}],
            }
        )
        del body["metadata"]["namespace"]
        review = _review(body, uid="a-4")
        review["request"]["namespace"] = "team"
        _, doc = await post(review)
        assert doc["response"]["status"]["message"].startswith("HTTPRoute team/r cannot be served")

    _serve(tmp_path, Holder(snapshot()), scenario)


def test_what_is_not_an_admission_review_gets_400(tmp_path: Path) -> None:
    async def scenario(post: Post) -> None:
        for doc in ({}, {"request": {}}, {"request": {"uid": 7}}, [1], "x"):
            status, body = await post(doc)
            assert status == 400, doc
            assert body == {"error": "expected an AdmissionReview"}

    _serve(tmp_path, Holder(snapshot()), scenario)


def test_out_of_time_the_answer_goes_without_findings_but_denials_stand(tmp_path: Path) -> None:
    async def scenario(post: Post) -> None:
        _, doc = await post(_review(route(on_gw(rule("/app")))))
        assert doc["response"]["allowed"] is True
        assert doc["response"]["warnings"] == [LATE]  # not the shadowed rule: no time to look
        _, doc = await post(_review(route(on_gw({"matches": [BAD_REGEX]}))))
        assert doc["response"]["allowed"] is False  # needs no translation

    _serve(tmp_path, Holder(snapshot()), scenario, budget_s=0.0)


def test_findings_that_come_from_a_lagging_view_are_looked_at_again(tmp_path: Path) -> None:
    """The Gateway reaches the controller's view 0.2 s after the route's review began: the
    route is answered without the ParentNotFound warning the first look gave."""
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "late-gw", "namespace": "default"},
        "spec": {
            "gatewayClassName": "ours",
            "listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}],
        },
    }
    holder = Holder(snapshot())
    spec = {"parentRefs": [{"name": "late-gw"}], "rules": [rule("/new")]}

    async def scenario(post: Post) -> None:
        async def gateway_arrives() -> None:
            await asyncio.sleep(0.2)
            holder.view = (snapshot(gateway), Settings())

        arrival = asyncio.create_task(gateway_arrives())
        started = time.monotonic()
        _, doc = await post(_review(route(spec)))
        await arrival
        assert doc["response"] == {"uid": "u-1", "allowed": True}
        assert 0.2 <= time.monotonic() - started < 1.5
        # Nothing arrives for this one: warned once the settling time is over.
        started = time.monotonic()
        _, doc = await post(_review(route({**spec, "parentRefs": [{"name": "never"}]})))
        assert "[ParentNotFound]" in doc["response"]["warnings"][0]
        assert time.monotonic() - started >= 0.5

    _serve(tmp_path, holder, scenario, settle_s=0.5)
