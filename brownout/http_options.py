"""How brownout's HTTP clients treat TLS and redirects, the same for load, probes and the health check.

Load traffic (geventhttpclient inside the load process), probes (httpx) and the
health check (httpx) are three clients; one `HttpOptions`, made from
`target.endpoint`, keeps them from disagreeing about a certificate or a redirect.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

__all__ = ["MAX_REDIRECTS", "REDIRECT_STATUSES", "HttpOptions"]

MAX_REDIRECTS = 5
"""Redirects followed at most (with `follow_redirects: true`) before the request fails as `redirect`."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class HttpOptions:
    verify_tls: bool = True
    ca_bundle: str | None = None      # PEM file of trusted CAs (an absolute path), instead of the system's
    follow_redirects: bool = False

    def ssl_context(self, cafile: str | None = None) -> ssl.SSLContext:
        """The context every HTTPS connection uses: verifying against `ca_bundle` (else `cafile`, else the
        system CAs) unless told not to. Callable as geventhttpclient's `ssl_context_factory(cafile=...)`."""
        if not self.verify_tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=self.ca_bundle or cafile)
