"""The request being explained, normalised the way Envoy normalises it before routing."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Request:
    method: str
    scheme: str
    host: str  # lower-cased, without port
    port: int
    path: str  # normalised, without query
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # names lower-cased, in order
    grpc: bool = False

    @classmethod
    def from_url(
        cls,
        url: str,
        method: str = "GET",
        headers: tuple[tuple[str, str], ...] = (),
        grpc_method: str | None = None,
    ) -> Request:
        """Parse `url`; a `Host` header overrides the URL's host (as curl -H does)."""
        parts = urlsplit(url if "://" in url else f"http://{url}")
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme, 80)
        lowered = tuple((k.strip().lower(), v.strip()) for k, v in headers)
        for name, value in lowered:
            if name == "host":
                host = value.rsplit(":", 1)[0].lower() if "]" not in value else value.lower()
        path = parts.path or "/"
        grpc = grpc_method is not None
        if grpc_method is not None:
            path = "/" + grpc_method.strip("/")
            method = "POST"
            lowered = (*lowered, ("content-type", "application/grpc"))
        return cls(
            method=method.upper(),
            scheme=scheme,
            host=host,
            port=port,
            path=normalize_path(path),
            query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
            headers=lowered,
            grpc=grpc,
        )

    def header(self, name: str) -> str | None:
        """All values of a header joined with `,` (RFC 7230), as Envoy's matchers see them."""
        values = [v for k, v in self.headers if k == name]
        return ",".join(values) if values else None

    def query_value(self, name: str) -> str | None:
        """The first value of a query parameter (the recommended behaviour, and Envoy's)."""
        return next((v for k, v in self.query if k == name), None)

    def target(self) -> str:
        default = _DEFAULT_PORTS.get(self.scheme)
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}{self.path}"


def normalize_path(path: str) -> str:
    """RFC 3986 dot-segment removal and merged slashes, as the HCM does before matching."""
    while "//" in path:
        path = path.replace("//", "/")
    trailing = path.endswith("/") and path != "/"
    norm = posixpath.normpath(path)
    norm = "/" + norm.lstrip("/")
    if trailing and norm != "/":
        norm += "/"
    return norm
