"""quick_init: the fast constructors of the IR and of status records build what the
dataclasses' own would."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

from hatchway import ir, status
from hatchway.ir import frozen
from hatchway.ir.origin import Origin
from hatchway.ir.route import PathMatch, PathMatchType, Route

CLASSES = [
    obj
    for module in (ir.route, ir.origin, ir.backend, status.report, status.conditions)
    for obj in vars(module).values()
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__
]


def _reference_init(cls: type[Any]) -> Any:
    """The constructor `dataclasses` generates for `cls` (a fresh dataclass of its fields)."""
    fields = [(f.name, f.type, f) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(cls.__name__, fields, frozen=True, slots=True)


def test_every_dataclass_of_these_modules_uses_it() -> None:
    assert CLASSES
    for cls in CLASSES:
        assert cls.__init__.__globals__.get("NO_ARG") is frozen.NO_ARG, cls  # ours
        assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_same_parameters_and_defaults_as_the_dataclass(cls: type[Any]) -> None:
    ours = inspect.signature(cls.__init__).parameters
    theirs = inspect.signature(_reference_init(cls).__init__).parameters
    assert list(ours) == list(theirs)
    for name, p in theirs.items():
        if p.default is not inspect.Parameter.empty and not callable(p.default):
            assert ours[name].default == p.default, (cls, name)


def test_builds_equal_frozen_objects_with_post_init() -> None:
    route = Route(
        name="r",
        origin=Origin("HTTPRoute", "ns", "n", rule=0, match=1),
        match=ir.route.Match(path=PathMatch(PathMatchType.PREFIX, "/")),
        action=ir.route.DirectResponse(404),
    )
    assert route.hostname == "*" and route.mirrors == () and route.grpc is False
    assert route.origin == Origin("HTTPRoute", "ns", "n", None, 0, 1)
    # Origin's __post_init__ ran: the hash is the one of its identifying fields.
    assert hash(route.origin) == hash(("HTTPRoute", "ns", "n", None, 0, 1, None))
    with pytest.raises(dataclasses.FrozenInstanceError):
        route.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Route(name="r")  # type: ignore[call-arg]
    assert dataclasses.replace(route, name="s").name == "s"


def test_status_records_stay_equal_ordered_and_hashable() -> None:
    key = status.ResourceKey("v1", "HTTPRoute", "ns", "a")
    assert key == status.ResourceKey("v1", "HTTPRoute", "ns", "a")
    assert key < status.ResourceKey("v1", "HTTPRoute", "ns", "b")
    assert {key: 1}[status.ResourceKey("v1", "HTTPRoute", "ns", "a")] == 1
    cond = status.condition("Accepted", True, "Accepted", "ok", 3)
    assert cond.is_true and cond.observed_generation == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        cond.message = "other"  # type: ignore[misc]


def test_default_factories_and_fields_left_out_of_init() -> None:
    @frozen.quick_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Sample:
        a: int
        items: list[int] = dataclasses.field(default_factory=list)
        counted: int = dataclasses.field(default=7, init=False)

    one, two = Sample(1), Sample(2)
    assert one.items == [] and one.items is not two.items
    assert one.counted == 7 and Sample(3, [4]).items == [4]
