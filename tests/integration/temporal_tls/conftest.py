"""Temporal's development server behind TLS fronts (Debian's nginx, HTTP/2 with ALPN h2, grpc_pass): one
that verifies client certificates against the test's CA (mTLS), one that admits only an API key."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from paid_devstack.binaries import BinaryNotFoundError
from paid_devstack.certificates import TestAuthority
from paid_devstack.temporal import TemporalDevServer
from paid_devstack.tls_front import GrpcTlsFront, ServerCertificate

SERVER_NAME = "temporal.paid.test"
API_KEY = uuid.uuid4().hex


class Pki:
    def __init__(self, directory: Path) -> None:
        self.authority = TestAuthority(directory, "paid")
        self.stranger = TestAuthority(directory, "stranger")
        self.server = self.authority.issue(SERVER_NAME, server=True)
        self.client = self.authority.issue("paid-poller", server=False)
        self.foreign_client = self.stranger.issue("paid-poller", server=False)


@pytest.fixture(scope="package")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="package")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    with TemporalDevServer(tmp_path_factory.mktemp("temporal"), headless=True) as server:
        yield server


def front(directory: Path, temporal: TemporalDevServer, pki: Pki, **check: object) -> GrpcTlsFront:
    certificate = ServerCertificate(pki.server.cert_path, pki.server.key_path)
    try:
        return GrpcTlsFront(directory, temporal.target, certificate, **check)  # type: ignore[arg-type]
    except BinaryNotFoundError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(error))


@pytest.fixture(scope="package")
def mtls_front(
    tmp_path_factory: pytest.TempPathFactory, temporal: TemporalDevServer, pki: Pki
) -> Iterator[GrpcTlsFront]:
    with front(
        tmp_path_factory.mktemp("mtls"), temporal, pki, client_ca_path=pki.authority.ca_path
    ) as server:
        yield server


@pytest.fixture(scope="package")
def api_key_front(
    tmp_path_factory: pytest.TempPathFactory, temporal: TemporalDevServer, pki: Pki
) -> Iterator[GrpcTlsFront]:
    with front(tmp_path_factory.mktemp("api-key"), temporal, pki, api_key=API_KEY) as server:
        yield server
