"""How a service reaches Temporal: a self-hosted cluster over mTLS, Temporal Cloud with an API key, or the
development server in the clear. Bad access settings stop the service at start-up with one line that
names the setting and the reason, instead of a traceback or five minutes of retries."""

from __future__ import annotations

import os
import re
import ssl
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from paid_runtime.settings import ServiceSettings

REFUSED_STATUSES = frozenset({RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED})
TLS_REFUSAL_WORDS = ("certificate", "handshake", "alert")
REFUSED_CODE = re.compile(r"code: (Unauthenticated|PermissionDenied)\b")
HTTP_REFUSAL = re.compile(r"status: (40[013])\b")
"""How a gRPC client reports a front's HTTP refusal (nginx: 400 for a missing or untrusted certificate)."""


class TemporalAccessRefused(SystemExit):
    """Exits the service with a one-line reason: retrying cannot fix a credential."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"paid-{service}: Temporal refused: {reason}")


@contextmanager
def refusal_exits_at_once() -> Iterator[None]:
    """Around a service's `asyncio.run`: a refusal prints its one line and ends the process now.

    Once a client has tried to connect, Temporal's core runtime keeps threads that can call into Python
    while the interpreter finalizes; CPython then aborts (SIGABRT, "Fatal Python error: PyGILState_Release")
    and the one line is followed by a crash dump. Nothing else is running yet at start-up, so nothing is
    lost by skipping the interpreter's shutdown."""
    try:
        yield
    except TemporalAccessRefused as refused:
        sys.stdout.flush()
        print(refused.code, file=sys.stderr, flush=True)
        os._exit(1)


@dataclass(frozen=True)
class TemporalAccess:
    target: str
    namespace: str
    tls: TLSConfig | bool
    api_key: str | None


def temporal_access(settings: ServiceSettings, service: str) -> TemporalAccess:
    """Reads and checks the certificate files now, so that a missing, unreadable, malformed or mismatched
    one is reported by its setting's name before anything connects."""
    prefix = f"PAID_{service.upper()}_"
    cert, key = settings.temporal_tls_cert_path, settings.temporal_tls_key_path
    if (cert is None) != (key is None):
        given, missing = (
            ("TLS_CERT_PATH", "TLS_KEY_PATH") if key is None else ("TLS_KEY_PATH", "TLS_CERT_PATH")
        )
        raise TemporalAccessRefused(
            service, f"{prefix}TEMPORAL_{given} is set without {prefix}TEMPORAL_{missing} (mTLS needs both)"
        )
    client_cert = _read(service, f"{prefix}TEMPORAL_TLS_CERT_PATH", cert)
    client_key = _read(service, f"{prefix}TEMPORAL_TLS_KEY_PATH", key)
    server_ca = _read(service, f"{prefix}TEMPORAL_TLS_CA_PATH", settings.temporal_tls_ca_path)
    if client_cert is not None and client_key is not None:
        _check_pair(service, prefix, client_cert, client_key)
    if server_ca is not None:
        try:
            ssl.create_default_context(cadata=server_ca.decode("ascii", errors="replace"))
        except (ssl.SSLError, ValueError) as error:
            raise TemporalAccessRefused(
                service,
                f"{prefix}TEMPORAL_TLS_CA_PATH {settings.temporal_tls_ca_path}: not a PEM CA ({error})",
            ) from None
    api_key = settings.temporal_api_key or None
    uses_tls = settings.temporal_tls or any(
        item is not None for item in (client_cert, server_ca, settings.temporal_tls_server_name, api_key)
    )
    tls: TLSConfig | bool = uses_tls
    if client_cert is not None or server_ca is not None or settings.temporal_tls_server_name:
        tls = TLSConfig(
            server_root_ca_cert=server_ca,
            domain=settings.temporal_tls_server_name,
            client_cert=client_cert,
            client_private_key=client_key,
        )
    return TemporalAccess(settings.temporal_target, settings.temporal_namespace, tls, api_key)


def _read(service: str, setting: str, path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        content = path.read_bytes()
    except OSError as error:
        raise TemporalAccessRefused(service, f"{setting} {path}: {error.strerror or error}") from None
    if b"-----BEGIN " not in content:
        raise TemporalAccessRefused(service, f"{setting} {path}: not PEM")
    return content


def _check_pair(service: str, prefix: str, cert: bytes, key: bytes) -> None:
    """ssl loads a certificate chain only from files: the pair goes through a private directory."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with tempfile.TemporaryDirectory() as directory:
        cert_file, key_file = Path(directory) / "cert.pem", Path(directory) / "key.pem"
        cert_file.write_bytes(cert)
        key_file.touch(mode=0o600)
        key_file.write_bytes(key)
        try:
            context.load_cert_chain(cert_file, key_file)
        except ssl.SSLError as error:
            raise TemporalAccessRefused(
                service,
                f"{prefix}TEMPORAL_TLS_CERT_PATH and {prefix}TEMPORAL_TLS_KEY_PATH: not a certificate and "
                f"its key ({error.reason or error})",
            ) from None


def refusal_reason(error: BaseException) -> str | None:
    """Why Temporal (or a TLS front before it) refused us for good, or None for an outage worth retrying."""
    if isinstance(error, RPCError) and error.status in REFUSED_STATUSES:
        return f"{error.status.name}: {error.message}".splitlines()[0]
    if not isinstance(error, RuntimeError):
        return None
    text = str(error)
    if status := REFUSED_CODE.search(text):
        return f"{status[1]} (the credential was refused)"
    if http := HTTP_REFUSAL.search(text):
        why = "a client certificate missing or not trusted, or a bad key"
        return f"the TLS front answered HTTP {http[1]} ({why})"
    if any(word in text.lower() for word in TLS_REFUSAL_WORDS):
        return text.splitlines()[0][:300]
    return None
