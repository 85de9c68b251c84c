"""Session persistence (GEP-1619) as the data plane needs it, from a route rule or an
XBackend, whichever spelling (v1.7 `cookie`/`header`, v1.6 `sessionName`) it uses."""

from __future__ import annotations

from hatchway.ir import SessionPersistence
from hatchway.model.durations import duration_millis
from hatchway.model.routes import SessionPersistence as ModelSessionPersistence


def session_persistence(sp: ModelSessionPersistence | None) -> SessionPersistence | None:
    if sp is None:
        return None
    return SessionPersistence(
        type=sp.type,
        name=sp.name,
        absolute_timeout_ms=duration_millis(sp.absolute_timeout) if sp.absolute_timeout else None,
        permanent=sp.permanent,
        cookie_path=sp.cookie.path if sp.cookie is not None else None,
    )
