"""A fast YAML stream → Python objects builder on libyaml's event stream.

PyYAML's own constructor builds a node tree and then walks it in pure Python; building the
objects straight from libyaml's events is about twice as fast, which matters for 10,000-route
inputs. Semantics follow YAML 1.1 SafeLoader (`yes` is a bool, timestamps become datetimes),
plus the rules Kubernetes' YAML decoder applies too: duplicate keys and non-scalar keys are
errors, number and bool keys become strings, an alias may not contain itself, and a document
may not grow without bound through aliases ("billion laughs") or nesting.

Every problem is a `yaml.YAMLError` with the position in the file; nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import yaml
from yaml import events
from yaml.constructor import ConstructorError
from yaml.nodes import ScalarNode

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"

# No Kubernetes object nests anywhere near this deep (a Gateway API route is ~10 levels); a
# deeper document is an attack or a mistake, and would make every later walk over it recurse.
MAX_DEPTH = 100
# Aliases share values instead of copying them, but whoever walks the document (validation,
# comparison, error reporting) sees every copy. A document may expand through aliases to at
# most this many values plus ten per value it spells out (go-yaml refuses "excessive
# aliasing" the same way); a 500-byte "billion laughs" is refused at once.
ALIAS_ALLOWANCE = 10_000
ALIAS_RATIO = 10


class _Merge:
    """The `<<` merge key, kept apart from a real "<<" string key."""


_MERGE = _Merge()
_NO_KEY = object()  # a mapping waiting for its next key
_LIST = object()  # the "key" of an open sequence


class _Open:
    """A container being built: its pending key, and the size and depth of what it holds
    with aliases expanded."""

    __slots__ = ("anchor", "container", "height", "key", "size")

    def __init__(self, container: Any, key: object, anchor: str | None) -> None:
        self.container = container
        self.key = key
        self.anchor = anchor
        self.size = 1
        self.height = 1


def load_all(text: str) -> Iterator[object]:
    """Each YAML document of `text` as plain Python objects; raises `yaml.YAMLError`."""
    loader: Any = _Loader(text)  # libyaml's parser is untyped in the stubs
    try:
        yield from _documents(loader)
    finally:
        loader.dispose()


def _documents(loader: Any) -> Iterator[object]:
    tags: dict[str, str] = {}  # plain scalar → resolved tag (the resolver is slow Python)
    constructors = loader.yaml_constructors
    stack: list[_Open] = []
    # anchor → (value, its size and height with aliases expanded; None while still open)
    anchors: dict[str, tuple[object, tuple[int, int] | None]] = {}
    root: object = _NO_KEY
    spelled = 0  # values the document spells out (not through aliases)
    aliased = False  # whether the document has used an alias yet
    while loader.check_event():
        event = loader.get_event()
        cls = event.__class__
        value: object
        size, height = 1, 0
        if cls is events.ScalarEvent:
            value = _scalar(loader, event, tags, constructors)
            spelled += 1
        elif cls is events.MappingStartEvent or cls is events.SequenceStartEvent:
            mapping = cls is events.MappingStartEvent
            if len(stack) >= MAX_DEPTH:
                raise _error(f"values nested deeper than {MAX_DEPTH} levels", event)
            opened = _Open({} if mapping else [], _NO_KEY if mapping else _LIST, event.anchor)
            if event.anchor:
                anchors[event.anchor] = (opened.container, None)
            stack.append(opened)
            spelled += 1
            continue
        elif cls is events.MappingEndEvent or cls is events.SequenceEndEvent:
            done = stack.pop()
            value, size, height = done.container, done.size, done.height
            if done.anchor:
                anchors[done.anchor] = (value, (size, height))
        elif cls is events.AliasEvent:
            value, size, height = _alias(anchors, event)
            aliased = True
        elif cls is events.DocumentEndEvent:
            yield None if root is _NO_KEY else root
            root = _NO_KEY
            anchors.clear()
            spelled = 0
            aliased = False
            continue
        else:
            continue
        if cls is events.ScalarEvent and event.anchor:
            anchors[event.anchor] = (value, (1, 0))
        if not stack:
            root = "<<" if value is _MERGE else value
            continue
        top = stack[-1]
        if height:  # a container (scalars change no height: the usual case is cheap)
            if len(stack) + height > MAX_DEPTH:
                raise _error(f"values nested deeper than {MAX_DEPTH} levels", event)
            if height >= top.height:
                top.height = height + 1
        top.size += size
        if aliased and top.size > ALIAS_ALLOWANCE + ALIAS_RATIO * spelled:
            raise _error("document expands to too many values through aliases", event)
        _attach(top, value, event)


def _alias(
    anchors: dict[str, tuple[object, tuple[int, int] | None]], event: Any
) -> tuple[object, int, int]:
    found = anchors.get(event.anchor)
    if found is None:
        raise _error(f"found undefined alias {event.anchor!r}", event)
    value, sized = found
    if sized is None:
        raise _error(f"alias {event.anchor!r} refers to a value that contains itself", event)
    return value, sized[0], sized[1]


def _error(message: str, event: Any) -> ConstructorError:
    return ConstructorError(None, None, message, event.start_mark)


def _scalar(
    loader: Any,
    event: Any,
    tags: dict[str, str],
    constructors: dict[Any, Any],
) -> object:
    tag = event.tag
    implicit = False
    if tag is None or tag == "!":
        if event.implicit[0]:  # plain scalar: resolve (int, bool, null, timestamp…)
            implicit = True
            tag = tags.get(event.value)
            if tag is None:
                tag = loader.resolve(ScalarNode, event.value, (True, False))
                tags[event.value] = tag
        else:
            tag = STR_TAG
    if tag == STR_TAG:
        return event.value
    if tag == MERGE_TAG:
        return _MERGE
    constructor = constructors.get(tag)
    if constructor is None:
        raise _error(f"could not determine a constructor for the tag {tag!r}", event)
    try:
        return constructor(loader, ScalarNode(tag, event.value, event.start_mark, event.end_mark))
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        if implicit:
            # It only looked like a date or a number (`2024-02-30`, a 5,000-digit int):
            # a string, as Kubernetes' decoder reads it.
            return event.value
        shown = event.value if len(event.value) <= 40 else event.value[:40] + "…"
        raise _error(
            f"cannot read {shown!r} as {tag.rsplit(':', 1)[-1]}: {type(exc).__name__}", event
        ) from None


def _key(value: object, event: Any) -> object:
    """A mapping key as Kubernetes reads it: numbers and bools become strings."""
    if isinstance(value, str) or value is _MERGE:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        raise _error("found a non-scalar mapping key", event)
    what = (
        "null" if value is None else "a date" if isinstance(value, date) else type(value).__name__
    )
    raise _error(f"a mapping key must be a string, not {what}", event)


def _attach(top: _Open, value: object, event: Any) -> None:
    key = top.key
    if key is _LIST:
        top.container.append("<<" if value is _MERGE else value)
        return
    if key is _NO_KEY:
        top.key = _key(value, event)
        return
    top.key = _NO_KEY
    container = top.container
    if key is _MERGE:
        sources = value if isinstance(value, list) else [value]
        for source in sources:
            if not isinstance(source, dict):
                raise _error("expected a mapping for merging", event)
            for k, v in source.items():
                container.setdefault(k, v)
        return
    if key in container:
        text = str(key)  # a string: see `_key`
        raise _error(f"duplicate key {text[:60]!r}{'…' if len(text) > 60 else ''}", event)
    container[key] = "<<" if value is _MERGE else value
