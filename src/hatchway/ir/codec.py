"""IR dataclasses <-> plain JSON-like dicts, for golden files, `translate -o` and debugging.

Fields equal to their default are omitted so dumps stay short and diffs show what matters.
A field whose type is a union of several dataclasses (a route's action) is tagged with the
class name under the key `kind`, e.g. `{kind: Redirect, status_code: 301}`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union

T = TypeVar("T")

_TAG = "variant"


def to_dict(obj: Any) -> Any:
    """Convert an IR value (dataclass, enum, tuple, scalar) to plain dicts/lists/scalars."""
    return _dump(obj, None)


def from_dict(cls: type[T], data: Any) -> T:
    """Rebuild an IR value of type `cls` from what `to_dict` produced."""
    return typing.cast(T, _load(cls, data))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _dataclass_options(tp: Any) -> list[type]:
    return [a for a in _non_none(tp) if _is_dataclass_type(a)]


def _dump(obj: Any, declared: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        hints = _hints(type(obj))
        out: dict[str, Any] = {}
        if declared is not None and len(_dataclass_options(declared)) > 1:
            out[_TAG] = type(obj).__name__
        for f in dataclasses.fields(obj):
            if not f.init:
                continue  # derived (e.g. a cached hash), not data
            value = getattr(obj, f.name)
            if f.default is not dataclasses.MISSING and value == f.default:
                continue
            if f.default_factory is not dataclasses.MISSING and value == f.default_factory():
                continue
            out[f.name] = _dump(value, hints[f.name])
        return out
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, tuple | list):
        item = _item_type(declared)
        return [_dump(v, item) for v in obj]
    return obj


def _item_type(declared: Any) -> Any:
    for tp in _non_none(declared):
        if typing.get_origin(tp) is tuple:
            args = typing.get_args(tp)
            return args[0] if len(args) == 2 and args[1] is Ellipsis else None
    return None


def _non_none(tp: Any) -> list[Any]:
    if typing.get_origin(tp) in (Union, types.UnionType):
        return [a for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


def _load(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    options = _non_none(tp)
    classes = _dataclass_options(tp)
    if len(classes) > 1:
        tag = data[_TAG]
        cls = next(c for c in classes if c.__name__ == tag)
        return _load_dataclass(cls, {k: v for k, v in data.items() if k != _TAG})
    target = options[0]
    if _is_dataclass_type(target):
        return _load_dataclass(target, data)
    if isinstance(target, type) and issubclass(target, Enum):
        return target(data)
    if typing.get_origin(target) is tuple:
        args = typing.get_args(target)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_load(args[0], v) for v in data)
        return tuple(_load(a, v) for a, v in zip(args, data, strict=True))
    return data


def _load_dataclass(cls: type, data: dict[str, Any]) -> Any:
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    return cls(**{k: _load(hints[k], v) for k, v in data.items()})
