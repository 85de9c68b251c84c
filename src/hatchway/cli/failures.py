"""Why `hatchway controller` could not run, in one line a person can act on.

The usual failures are the environment's (no kubeconfig, an API server that cannot be reached,
missing CRDs, RBAC), not bugs: a traceback would bury the one useful line. With
`--log-level debug` the traceback is logged too.
"""

from __future__ import annotations

import ssl


def describe(exc: BaseException) -> str | None:
    """The line for a known failure, None for anything else (a bug: keep the traceback)."""
    import httpx2
    from lightkube import ApiError, ConfigError

    from hatchway.runtime.controller import MissingAPIs

    if isinstance(exc, ConfigError):
        return (
            f"cannot load the kubeconfig: {exc}. Pass --kubeconfig FILE, set KUBECONFIG, "
            "or run in a pod with a service account"
        )
    if isinstance(exc, MissingAPIs):
        return str(exc)
    if isinstance(exc, ApiError):
        return _api_error(exc)
    if isinstance(exc, httpx2.TransportError):
        url = _url(exc)
        if isinstance(exc.__cause__ or exc.__context__, ssl.SSLError):
            return f"TLS to the API server {url} failed: {exc}. Check the kubeconfig's CA"
        return f"cannot reach the API server {url}: {exc or type(exc).__name__}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS to the API server failed: {exc}. Check the kubeconfig's CA and client cert"
    if isinstance(exc, OSError):
        return f"cannot start: {exc}"
    return None


def _api_error(exc: object) -> str:
    status = getattr(exc, "status", None)
    code = getattr(status, "code", None)
    message = getattr(status, "message", None) or str(exc)
    if code == 401:
        return f"the API server rejected the credentials (401): {message}"
    if code == 403:
        return (
            f"the API server refused a request (403 Forbidden): {message}. Grant the "
            "controller's service account the RBAC rules of the Helm chart "
            "(deploy/helm/hatchway/templates/rbac.yaml)"
        )
    return f"the API server answered {code}: {message}"


def _url(exc: object) -> str:
    try:
        request = exc.request  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError when none is set
        return "(address unknown)"
    return f"{request.url.scheme}://{request.url.host}:{request.url.port}"
