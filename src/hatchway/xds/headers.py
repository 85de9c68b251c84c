"""IR HeaderModifier -> Envoy `*_headers_to_add` / `*_headers_to_remove` fields."""

from __future__ import annotations

from typing import Any

from envoy.config.core.v3 import base_pb2

from hatchway.ir import HeaderModifier

_OVERWRITE = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
_APPEND = base_pb2.HeaderValueOption.APPEND_IF_EXISTS_OR_ADD


def fill_headers(to_add: Any, to_remove: Any, mod: HeaderModifier | None) -> None:
    """`set` replaces every value; `add` appends a value; `remove` deletes the header.

    Several values for one name are joined with `,` (RFC 7230 list syntax) into a single
    option, which is how a client would have sent them.
    """
    if mod is None:
        return
    for name, value, action in [(n, v, _OVERWRITE) for n, v in _joined(mod.set)] + [
        (n, v, _APPEND) for n, v in _joined(mod.add)
    ]:
        opt = to_add.add()
        opt.header.key = name
        opt.header.value = value
        opt.append_action = action
        if value == "":
            opt.keep_empty_value = True
    to_remove.extend(mod.remove)


def _joined(pairs: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    out: dict[str, tuple[str, list[str]]] = {}
    for name, value in pairs:
        key = name.lower()
        if key in out:
            out[key][1].append(value)
        else:
            out[key] = (name, [value])
    return [(name, ",".join(values)) for name, values in out.values()]
