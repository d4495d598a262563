"""Temporal behind a TLS front (nginx, HTTP/2 with ALPN h2, grpc_pass), reached with each service's access
settings: mTLS with a client certificate from the front's CA, or an API key. A workflow runs through the
front; a missing or foreign certificate, or a wrong key, is refused with one line (each service's exit at
start-up: test_temporal_tls_services.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.worker import Worker

from paid_devstack.certificates import IssuedCertificate
from paid_devstack.tls_front import GrpcTlsFront
from paid_poller.config import PollerSettings
from paid_runtime.temporal import check_temporal_admits, connect_service_temporal
from paid_runtime.temporal_access import TemporalAccessRefused, temporal_access

from .conftest import API_KEY, SERVER_NAME, Pki

pytestmark = pytest.mark.integration


@workflow.defn(sandboxed=False)
class Hello:
    @workflow.run
    async def run(self, name: str) -> str:
        return f"hello {name}"


@pytest.fixture(autouse=True)
def short_startup_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refusal must stop at once; an unrecognized one would otherwise be retried for five minutes."""
    monkeypatch.setenv("PAID_STARTUP_DEADLINE_SECONDS", "20")


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


def _system_info_request() -> GetSystemInfoRequest:
    return GetSystemInfoRequest()
