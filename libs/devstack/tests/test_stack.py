from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from paid_devstack import InfraEndpoints, InfraStack, sqlalchemy_async_url

pytestmark = pytest.mark.integration


async def test_temporal_answers(infra: InfraStack) -> None:
    client = await Client.connect(infra.temporal_target)
    described = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace="default")
    )
    assert described.namespace_info.name == "default"
    assert [workflow async for workflow in client.list_workflows(f"WorkflowId = '{uuid.uuid4()}'")] == []


def test_temporal_web_ui_is_served(infra: InfraStack) -> None:
    assert infra.temporal_ui_url is not None
    response = httpx.get(infra.temporal_ui_url, trust_env=False, follow_redirects=True)
    assert response.status_code == 200
    assert "<html" in response.text.lower()


async def test_nats_jetstream_deduplicates_by_msg_id(infra: InfraStack) -> None:
    nc = await nats.connect(infra.nats_admin_url)
    try:
        js = nc.jetstream()
        stream = f"DEVSTACK_{uuid.uuid4().hex[:8]}"
        await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
        headers = {"Nats-Msg-Id": "delivery-1"}
        first = await js.publish(f"{stream.lower()}.event", b"one", headers=headers)
        second = await js.publish(f"{stream.lower()}.event", b"one", headers=headers)
        assert not first.duplicate
        assert second.duplicate
        assert second.seq == first.seq
        assert (await js.stream_info(stream)).state.messages == 1
    finally:
        await nc.close()


def test_nats_fsyncs_every_write_by_default(infra: InfraStack) -> None:
    assert infra.nats is not None
    config = httpx.get(f"{infra.nats.monitor_url}/jsz?config=1", trust_env=False).json()["config"]
    assert config["sync_always"] is True
    assert Path(config["store_dir"]) == infra.nats.store_dir


async def test_postgres_answers(infra: InfraStack) -> None:
    connection = await asyncpg.connect(infra.database_url)
    try:
        assert await connection.fetchval("select 1") == 1
    finally:
        await connection.close()
    assert infra.sqlalchemy_url.startswith("postgresql+asyncpg://postgres@127.0.0.1:")


def test_endpoints_are_published_for_other_processes(infra: InfraStack) -> None:
    loaded = InfraEndpoints.load(infra.data_dir)
    assert loaded == infra.endpoints
    env = loaded.as_env()
    assert env["PAID_TEMPORAL_TARGET"] == infra.temporal_target
    assert env["PAID_NATS_URL"] == infra.nats_url
    assert env["PAID_DATABASE_URL"] == sqlalchemy_async_url(infra.database_url)


def test_servers_given_by_url_are_not_started(infra: InfraStack, tmp_path: Path) -> None:
    external = InfraStack(
        tmp_path,
        temporal_target=infra.temporal_target,
        nats_url=infra.nats_url,
        nats_admin_url=infra.nats_admin_url,
        database_url=infra.sqlalchemy_url,
    )
    with external:
        assert external.servers == []
        assert external.endpoints == InfraEndpoints(
            infra.temporal_target, None, infra.nats_url, infra.database_url
        )
    assert not list(tmp_path.glob("*/*.pid"))


def test_from_env_mixes_given_and_local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PAID_NATS_URL", "nats://nats.example:4222")
    monkeypatch.delenv("PAID_TEMPORAL_TARGET", raising=False)
    monkeypatch.delenv("PAID_DATABASE_URL", raising=False)
    stack = InfraStack.from_env(tmp_path)
    assert stack.nats is None
    assert stack.nats_url == "nats://nats.example:4222"
    assert stack.temporal is not None
    assert stack.postgres is not None
