"""from_resources: packing `xds.build` output, reusing what an earlier generation packed."""

from __future__ import annotations

from hatchway import xds
from hatchway.ads.snapshot import XdsSnapshot, from_resources
from hatchway.model.parse import Document, parse_documents
from hatchway.translate import translate
from manifests import gateway_class, http_gateway, http_route, service


def _resources(moved: str = "/r3") -> xds.XdsResources:
    """A Gateway, ten Services and ten routes; `moved`: route r3's path."""
    bodies = [gateway_class(), http_gateway("gw", 8080)]
    for i in range(10):
        bodies += service(f"s{i}", 9000 + i)
        bodies.append(http_route(f"r{i}", "gw", [(moved if i == 3 else f"/r{i}", f"s{i}")]))
    docs = [Document("in.yaml", i, d) for i, d in enumerate(bodies)]
    return xds.build(translate(parse_documents(docs).snapshot).ir)


def _wire(snap: XdsSnapshot) -> dict[tuple[str, str], tuple[str, str, bytes]]:
    return {
        (t, name): (e.version, e.resource.type_url, e.resource.value)
        for t, items in snap.entries.items()
        for name, e in items.items()
    }


def test_an_unchanged_resource_keeps_its_entry_and_a_changed_one_is_packed_anew() -> None:
    first = from_resources(1, _resources())
    changed = _resources(moved="/moved")

    second = from_resources(2, changed, first)

    assert _wire(second) == _wire(from_resources(2, changed))  # what a cold packing gives
    same = [k for k, v in _wire(second).items() if _wire(first).get(k) == v]
    moved = [k for k, v in _wire(second).items() if _wire(first).get(k) != v]
    assert [t for t, _ in moved] == [xds.ROUTE] and len(same) > 20
    for t, name in same:
        assert second.entries[t][name] is first.entries[t][name]
    (t, name) = moved[0]
    assert second.entries[t][name] is not first.entries[t][name]
    assert second.entries[t][name].resource.value == changed.serialized[(t, name)]
