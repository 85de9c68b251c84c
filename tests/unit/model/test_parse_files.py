"""parse_files: whole files reused while their documents and stamps stay, same result as cold."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hatchway.model.meta import EPOCH
from hatchway.model.parse import Document, KnownStamps, ParseMemo, input_order, parse_files

GW = "gateway.networking.k8s.io/v1"


def route(name: str, path: str = "/") -> dict[str, Any]:
    rules = [{"matches": [{"path": {"type": "PathPrefix", "value": path}}]}]
    return {
        "apiVersion": GW,
        "kind": "HTTPRoute",
        "metadata": {"name": name},
        "spec": {"rules": rules},
    }


def file(source: str, *bodies: object) -> tuple[str, tuple[Document, ...]]:
    return source, tuple(Document(source, i, b) for i, b in enumerate(bodies))


def test_unchanged_file_is_reused_whole_and_equals_a_cold_parse() -> None:
    a = file("a.yaml", route("a1"), route("a2"))
    b = file("b.yaml", route("b1"), {"kind": "Nope", "apiVersion": "v1", "metadata": {}})
    memo = ParseMemo()
    first = parse_files([a, b], memo)
    c = file("c.yaml", route("c1"))
    second = parse_files([a, b, c], memo)
    assert second.parts[0] is first.parts[0] and second.parts[1] is first.parts[1]
    reused = zip(second.snapshot.http_routes[:3], first.snapshot.http_routes, strict=True)
    assert all(x is y for x, y in reused)
    assert second.skipped == first.skipped and len(second.skipped) == 1
    cold = parse_files([a, b, c])
    assert (cold.snapshot, cold.errors, dict(cold.stamps)) == (
        second.snapshot,
        second.errors,
        dict(second.stamps),
    )


def test_known_stamp_change_revalidates_an_unchanged_file() -> None:
    a = file("a.yaml", route("r"))
    memo = ParseMemo()
    first = parse_files([a], memo, KnownStamps({}, input_order))
    assert first.snapshot.http_routes[0].metadata.creation_timestamp == EPOCH
    then = datetime(2021, 5, 1, tzinfo=UTC)
    second = parse_files([a], memo, KnownStamps({("HTTPRoute", "", "r"): then}, input_order))
    assert second.snapshot.http_routes[0].metadata.creation_timestamp == then
    assert second.stamps == {("HTTPRoute", "", "r"): then}
    # Handing back the stamps a parse chose reuses it as it is.
    third = parse_files([a], memo, KnownStamps(second.stamps, input_order))
    assert third.snapshot.http_routes[0] is second.snapshot.http_routes[0]


def test_duplicates_across_files_first_wins_errors_in_document_order() -> None:
    a = file("a.yaml", route("r", "/a"))
    bad = route("bad", "no-slash")
    b = file("b.yaml", route("x"), route("r", "/b"), bad)
    memo = ParseMemo()
    for _ in range(2):  # cold, then with b.yaml reused
        result = parse_files([a, b], memo)
        paths = {
            r.metadata.name: r.spec.rules[0].matches[0].path.value
            for r in result.snapshot.http_routes
        }
        assert paths == {"r": "/a", "x": "/"}
        assert [(e.file, e.document, e.name) for e in result.errors] == [
            ("b.yaml", 1, "r"),
            ("b.yaml", 2, "bad"),
        ]
        assert "a.yaml document 0" in result.errors[0].message
        assert result.stamps[("HTTPRoute", "", "r")] == EPOCH  # a.yaml's, the first


def test_reuse_matches_a_cold_parse_when_a_duplicate_key_was_stamped_twice() -> None:
    # a.yaml's "r" is invalid, so b.yaml's wins; both were stamped, and the key keeps the
    # first stamp (a.yaml's). A reload must stamp b.yaml's object with it, as a cold parse does.
    a = file("a.yaml", route("r", "no-slash"))
    b = file("b.yaml", route("r", "/b"))
    memo = ParseMemo()
    first = parse_files([a, b], memo, KnownStamps({}, input_order))
    for _ in range(2):
        stamp = KnownStamps(first.stamps, input_order)
        warm = parse_files([a, b], memo, stamp)
        cold = parse_files([a, b], None, stamp)
        assert warm.snapshot == cold.snapshot
        assert warm.snapshot.http_routes[0].metadata.creation_timestamp == EPOCH
        first = warm


def test_a_file_decoded_again_reuses_its_equal_objects() -> None:
    """The memo knows objects by what they are (kind, namespace, name, stamp) and their
    content, not by the Python object: the same file decoded again is reused, and an object
    edited in it is validated anew."""
    memo = ParseMemo()
    first = parse_files([file("a.yaml", route("a1"), route("a2"))], memo)
    again = parse_files([file("a.yaml", route("a1"), route("a2", "/x"))], memo)
    assert again.snapshot.http_routes[0] is first.snapshot.http_routes[0]
    assert again.snapshot.http_routes[1] is not first.snapshot.http_routes[1]
    assert again.snapshot == parse_files([file("a.yaml", route("a1"), route("a2", "/x"))]).snapshot


def test_a_value_equal_in_python_but_of_another_type_is_validated_anew() -> None:
    """`1` and `true` are equal in Python; as input they are not (a port must be a number)."""
    good = route("a1")
    good["spec"]["parentRefs"] = [{"name": "gw", "port": 1}]
    bad = route("a1")
    bad["spec"]["parentRefs"] = [{"name": "gw", "port": True}]
    memo = ParseMemo()
    assert not parse_files([file("a.yaml", good)], memo).errors
    result = parse_files([file("a.yaml", bad)], memo)
    assert result.errors == parse_files([file("a.yaml", bad)]).errors
    assert result.errors and not result.snapshot.http_routes


def test_the_memo_keeps_one_map_of_stamps_however_many_files_were_edited() -> None:
    """Under `serve` every load passes the stamps of every object it knows; a file parsed
    at load N must not keep load N's map alive (at 1,000 files edited in turn, a thousand
    maps of a thousand stamps)."""
    files = [file(f"f{i}.yaml", route(f"r{i}")) for i in range(20)]
    memo = ParseMemo()
    stamps = parse_files(files, memo, KnownStamps({}, input_order)).stamps
    for i in range(20):  # each file edited once, in turn
        files[i] = file(f"f{i}.yaml", route(f"r{i}", path=f"/{i}"))
        stamps = parse_files(files, memo, KnownStamps(stamps, input_order)).stamps
    reachable: list[object] = list(memo.files.values())
    for _ in range(3):  # attributes, and what they hold
        reachable += gc.get_referents(*reachable)
    maps = {id(m) for m in reachable if isinstance(m, Mapping) and len(m) == 20}
    assert len(maps) <= 1, f"{len(maps)} maps of every object's stamp kept"
