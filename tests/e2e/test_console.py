"""The console in a real headless browser (Debian's Chromium driven by Playwright; no browser
is downloaded): it renders the topology of the input, shows a broken route red with its
reason and the warnings, answers the explain form, and its rates move when traffic flows.
The test saves a screenshot next to its log."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.echo import EchoPool
from e2e.harness import ROOT, Hatchway, free_port, http_request, write_yaml
from manifests import backend, gateway, gateway_class, l4_service, listener, parent, route

pytestmark = pytest.mark.e2e

Factory = Callable[..., Hatchway]
CHROMIUM = "/usr/bin/chromium"
# What this machine's Chromium needs headless as root, without reaching out to the network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # Playwright gives the browser a new empty profile of its own.
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _config(tmp_path: Path, cart_port: int, port: int) -> Path:
    web = listener("web", port, "HTTP", allowedRoutes={"namespaces": {"from": "All"}})
    docs: list[Any] = [
        gateway_class(),
        gateway("edge", [web], namespace="infra"),
        route(
            "HTTPRoute",
            "shop",
            [parent("edge", "web", namespace="infra")],
            [
                {
                    "name": "cart",
                    "matches": [{"path": {"type": "PathPrefix", "value": "/cart"}}],
                    "backendRefs": [backend("cart", 8080)],
                }
            ],
            hostnames=["shop.example"],
            namespace="apps",
            created="2026-01-01T00:00:00Z",
        ),
        # Its backend does not exist: ResolvedRefs=False, BackendNotFound.
        route(
            "HTTPRoute",
            "broken",
            [parent("edge", "web", namespace="infra")],
            [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/broken"}}],
                    "backendRefs": [backend("nowhere", 8080)],
                }
            ],
            hostnames=["shop.example"],
            namespace="apps",
            created="2026-01-02T00:00:00Z",
        ),
        # The same match as shop's, younger: never selected (a ShadowedRule warning).
        route(
            "HTTPRoute",
            "shadow",
            [parent("edge", "web", namespace="infra")],
            [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/cart"}}],
                    "backendRefs": [backend("cart", 8080)],
                }
            ],
            hostnames=["shop.example"],
            namespace="apps",
            created="2026-01-03T00:00:00Z",
        ),
        *l4_service("cart", cart_port, namespace="apps", port=8080),
    ]
    config = tmp_path / "config"
    config.mkdir()
    write_yaml(config / "all.yaml", docs)
    return config


def _traffic(port: int, stop: threading.Event) -> None:
    """Bounded load: at most 2,000 requests or 30 s, ~1 in 10 answered 503 by the backend."""
    deadline = time.monotonic() + 30
    for i in range(2000):
        if stop.is_set() or time.monotonic() > deadline:
            return
        headers = {"x-echo-status": "503"} if i % 10 == 0 else {}
        http_request(port, f"/cart/{i}", host="shop.example", headers=headers)
        time.sleep(0.01)


def test_console_shows_topology_warnings_explain_and_live_rates(
    tmp_path: Path, echo_pool: EchoPool, hatchway_factory: Factory, browser: Any
) -> None:
    cart = echo_pool.servers.get("cart") or echo_pool.start("cart")
    port = free_port()
    hw = hatchway_factory(_config(tmp_path, cart.port, port))
    page = browser.new_page(viewport={"width": 1280, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"http://127.0.0.1:{hw.admin_port}/")

    # The topology of the input: the Gateway, its listener, the three routes.
    page.wait_for_selector('[data-gateway="infra/edge"] [data-listener="web"]', timeout=10_000)
    shop = page.locator('tr.route[data-route="apps/shop"]')
    assert "healthy" in (shop.get_attribute("class") or "")
    assert "apps/cart:8080 (1 endpoints)" in shop.inner_text()
    # The broken route is red, with its reason.
    broken = page.locator('tr.route[data-route="apps/broken"]')
    assert "broken" in (broken.get_attribute("class") or "")
    assert "ResolvedRefs=False BackendNotFound" in broken.inner_text()
    assert broken.locator(".badge.bad").count() >= 1
    assert "rgb(207, 34, 46)" in broken.locator("td.name").evaluate(
        "e => getComputedStyle(e).color"
    )
    # Warnings: the shadowed rule.
    warnings = page.locator("#warnings").inner_text()
    assert "ShadowedRule" in warnings and "apps/shadow" in warnings

    # The explain form answers with the trace `hatchway explain` gives.
    page.fill("#explain-url", f"http://shop.example:{port}/cart/items")
    page.select_option("#explain-method", "GET")
    page.fill("#explain-headers", "X-Test: 1")
    page.click("#explain-submit")
    _wait_until(page, lambda: "Route " in page.locator("#explain-output").inner_text(), 10)
    trace = page.locator("#explain-output").inner_text()
    assert "HTTPRoute/apps/shop rule 0 (cart)" in trace
    assert "apps/shadow" in trace  # among the candidates not chosen, with why
    offline = subprocess.run(
        [
            *(sys.executable, "-m", "hatchway", "explain", "-f", str(hw.config_dir)),
            *("-H", "X-Test: 1", f"http://shop.example:{port}/cart/items"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )

    # The same trace as `hatchway explain` (which binds the default address, serve here
    # 127.0.0.1: the Socket line differs by that).
    def lines(text: str) -> list[str]:
        return [x for x in text.strip().splitlines() if not x.startswith("Socket")]

    assert lines(trace) == lines(offline.stdout)

    # Rates move when traffic flows.
    assert shop.locator(".rate").inner_text() in ("\u2013", "0.0")  # no traffic yet
    stop = threading.Event()
    load = threading.Thread(target=_traffic, args=(port, stop), daemon=True)
    load.start()
    try:

        def moving() -> bool:
            rate = _number(shop.locator(".rate").inner_text())
            p50 = shop.locator(".p50").inner_text()
            errs = _number(shop.locator(".errors").inner_text())
            return rate > 1 and p50.endswith("ms") and errs > 0

        _wait_until(page, moving, 25)
    finally:
        stop.set()
        load.join(35)
    rate = float(shop.locator(".rate").inner_text())
    assert rate > 1
    shot = tmp_path / "console.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert errors == []


def _wait_until(page: Any, ready: Callable[[], bool], timeout_s: float) -> None:
    """Poll from the test, through locators: `page.wait_for_function` evaluates a string in
    the page, which the console's Content-Security-Policy (no 'unsafe-eval') may refuse."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert time.monotonic() < deadline, f"not ready after {timeout_s} s"
        page.wait_for_timeout(250)


def _number(text: str) -> float:
    """The leading number of a cell ("12.5", "3.1%"), as the page's parseFloat reads it; 0
    for an en dash (nothing measured yet)."""
    m = re.match(r"\s*[0-9.]+", text)
    return float(m.group()) if m else 0.0
