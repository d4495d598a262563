"""Local infrastructure for development and tests: real Temporal, NATS and PostgreSQL servers,
supervised service processes, and an OTLP trace receiver."""

from paid_devstack.binaries import BinaryNotFoundError, find_binary
from paid_devstack.endpoints import InfraEndpoints, default_home
from paid_devstack.nats import NatsServer
from paid_devstack.nats_cluster import NatsCluster
from paid_devstack.otlp_client import OtlpSinkClient
from paid_devstack.otlp_sink import OtlpSink
from paid_devstack.ports import free_port
from paid_devstack.postgres import EmbeddedPostgres, libpq_url, sqlalchemy_async_url
from paid_devstack.processes import ManagedProcess, StartupError, wait_http_ok, wait_tcp, wait_until
from paid_devstack.spans import SpanEvent, SpanLink, SpanRecord
from paid_devstack.stack import InfraStack, StackPorts
from paid_devstack.supervisor import ServiceSpec, ServiceSupervisor
from paid_devstack.temporal import TemporalDevServer
from paid_devstack.waiting import wait_until_async

__all__ = [
    "BinaryNotFoundError",
    "EmbeddedPostgres",
    "InfraEndpoints",
    "InfraStack",
    "ManagedProcess",
    "NatsCluster",
    "NatsServer",
    "OtlpSink",
    "OtlpSinkClient",
    "ServiceSpec",
    "ServiceSupervisor",
    "SpanEvent",
    "SpanLink",
    "SpanRecord",
    "StackPorts",
    "StartupError",
    "TemporalDevServer",
    "default_home",
    "find_binary",
    "free_port",
    "libpq_url",
    "sqlalchemy_async_url",
    "wait_http_ok",
    "wait_tcp",
    "wait_until",
    "wait_until_async",
]
