"""Temporal behind a TLS front (nginx, HTTP/2 with ALPN h2, grpc_pass), reached with each service's access
settings: mTLS with a client certificate from the front's CA, or an API key. A workflow runs through the
front; a missing or foreign certificate, or a wrong key, stops the service at start-up with one line."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.worker import Worker

from paid_devstack.binaries import BinaryNotFoundError
from paid_devstack.certificates import IssuedCertificate, TestAuthority
from paid_devstack.temporal import TemporalDevServer
from paid_devstack.tls_front import GrpcTlsFront, ServerCertificate
from paid_poller.config import PollerSettings
from paid_runtime.temporal import check_temporal_admits, connect_service_temporal
from paid_runtime.temporal_access import TemporalAccessRefused, temporal_access

pytestmark = pytest.mark.integration

SERVER_NAME = "temporal.paid.test"
API_KEY = uuid.uuid4().hex


@workflow.defn(sandboxed=False)
class Hello:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"hello {name}"


class Pki:
    def __init__(self, directory: Path) -> None:
        self.authority = TestAuthority(directory, "paid")
        self.stranger = TestAuthority(directory, "stranger")
        self.server = self.authority.issue(SERVER_NAME, server=True)
        self.client = self.authority.issue("paid-poller", server=False)
        self.foreign_client = self.stranger.issue("paid-poller", server=False)


@pytest.fixture(autouse=True)
def short_startup_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refusal must stop at once; an unrecognized one would otherwise be retried for five minutes."""
    monkeypatch.setenv("PAID_STARTUP_DEADLINE_SECONDS", "20")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def mtls_front(
    tmp_path_factory: pytest.TempPathFactory, temporal: TemporalDevServer, pki: Pki
) -> Iterator[GrpcTlsFront]:
    with front(
        tmp_path_factory.mktemp("mtls"), temporal, pki, client_ca_path=pki.authority.ca_path
    ) as server:
        yield server


@pytest.fixture(scope="module")
def api_key_front(
    tmp_path_factory: pytest.TempPathFactory, temporal: TemporalDevServer, pki: Pki
) -> Iterator[GrpcTlsFront]:
    with front(tmp_path_factory.mktemp("api-key"), temporal, pki, api_key=API_KEY) as server:
        yield server


def poller_settings(
    target: str, pki: Pki, client: IssuedCertificate | None = None, **more: object
) -> PollerSettings:
    return PollerSettings(
        temporal_target=target,
        temporal_tls_ca_path=pki.authority.ca_path,
        temporal_tls_server_name=SERVER_NAME,
        temporal_tls_cert_path=client.cert_path if client else None,
        temporal_tls_key_path=client.key_path if client else None,
        **more,  # type: ignore[arg-type]
    )


async def test_a_workflow_runs_through_the_front_with_mtls(mtls_front: GrpcTlsFront, pki: Pki) -> None:
    access = temporal_access(poller_settings(mtls_front.target, pki, pki.client), "poller")
    client = await connect_service_temporal(access, "poller")
    queue = f"tls-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[Hello]):
        result = await client.execute_workflow(
            Hello.run, "front", id=queue, task_queue=queue, execution_timeout=timedelta(seconds=60)
        )
    assert result == "hello front"


def one_line(refused: pytest.ExceptionInfo[TemporalAccessRefused]) -> str:
    message = str(refused.value.code)
    assert message.startswith("paid-poller: Temporal refused: ")
    assert "\n" not in message
    return message


@pytest.mark.parametrize("certificate", ["none", "foreign"])
async def test_without_a_certificate_of_the_front_s_ca_the_service_stops_in_one_line(
    mtls_front: GrpcTlsFront, pki: Pki, certificate: str
) -> None:
    client = pki.foreign_client if certificate == "foreign" else None
    access = temporal_access(poller_settings(mtls_front.target, pki, client), "poller")
    with pytest.raises(TemporalAccessRefused) as refused:
        await connect_service_temporal(access, "poller")
    assert mtls_front.target in one_line(refused)
    with pytest.raises(TemporalAccessRefused):
        await check_temporal_admits(access, "poller")  # the gateway's start-up check


async def test_an_api_key_passes_the_front_and_a_wrong_one_stops_the_service(
    api_key_front: GrpcTlsFront, pki: Pki
) -> None:
    good = temporal_access(poller_settings(api_key_front.target, pki, temporal_api_key=API_KEY), "poller")
    client = await connect_service_temporal(good, "poller")
    assert (await client.workflow_service.get_system_info(_system_info_request())) is not None
    wrong = temporal_access(
        poller_settings(api_key_front.target, pki, temporal_api_key="guessed-key"), "poller"
    )
    with pytest.raises(TemporalAccessRefused) as refused:
        await connect_service_temporal(wrong, "poller")
    assert "UNAUTHENTICATED" in one_line(refused) or "401" in one_line(refused)
    assert "guessed-key" not in one_line(refused)


def _system_info_request() -> object:
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

    return GetSystemInfoRequest()


def test_a_service_with_a_missing_certificate_exits_at_start_up_in_one_line(tmp_path: Path, pki: Pki) -> None:
    missing = tmp_path / "nowhere.pem"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "PAID_PLANNER_TEMPORAL_TLS_CERT_PATH": str(missing),
        "PAID_PLANNER_TEMPORAL_TLS_KEY_PATH": str(pki.client.key_path),
        "PAID_PLANNER_LOG_LEVEL": "ERROR",
    }
    result = subprocess.run(
        [sys.executable, "-c", "from paid_planner.main import main; main()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"paid-planner: Temporal refused: PAID_PLANNER_TEMPORAL_TLS_CERT_PATH {missing}: " + (
        "No such file or directory"
    )
    assert "Traceback" not in result.stderr
