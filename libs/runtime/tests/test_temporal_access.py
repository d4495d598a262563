"""Temporal access settings read at start-up: what each combination means, and one line for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from paid_devstack.certificates import TestAuthority
from paid_runtime.redaction import redact
from paid_runtime.settings import ServiceSettings
from paid_runtime.temporal_access import TemporalAccessRefused, temporal_access


class ExecutorLike(ServiceSettings):
    model_config = {"env_prefix": "PAID_EXECUTOR_", "extra": "ignore"}


def refusal(settings: ServiceSettings) -> str:
    with pytest.raises(TemporalAccessRefused) as refused:
        temporal_access(settings, "executor")
    message = str(refused.value.code)
    assert "\n" not in message
    assert message.startswith("paid-executor: Temporal refused: ")
    return message.removeprefix("paid-executor: Temporal refused: ")


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> TestAuthority:
    return TestAuthority(tmp_path_factory.mktemp("pki"), "paid")


def test_the_development_server_is_reached_in_the_clear() -> None:
    access = temporal_access(ExecutorLike(), "executor")
    assert (access.target, access.namespace, access.tls, access.api_key) == (
        "127.0.0.1:7233",
        "default",
        False,
        None,
    )


def test_an_api_key_implies_tls_with_the_system_s_roots() -> None:
    settings = ExecutorLike(
        temporal_target="paid.a1b2c.tmprl.cloud:7233",
        temporal_namespace="paid.a1b2c",
        temporal_api_key="k" * 40,
    )
    access = temporal_access(settings, "executor")
    assert (access.tls, access.api_key, access.namespace) == (True, "k" * 40, "paid.a1b2c")
    assert "k" * 40 not in redact(f"key={'k' * 40}")


def test_mtls_reads_the_certificate_key_and_ca(authority: TestAuthority) -> None:
    client = authority.issue("paid-executor", server=False)
    settings = ExecutorLike(
        temporal_tls_cert_path=client.cert_path,
        temporal_tls_key_path=client.key_path,
        temporal_tls_ca_path=authority.ca_path,
        temporal_tls_server_name="temporal.internal",
    )
    tls = temporal_access(settings, "executor").tls
    assert isinstance(tls, TLSConfig)
    assert tls.client_cert == client.cert_path.read_bytes()
    assert tls.client_private_key == client.key_path.read_bytes()
    assert tls.server_root_ca_cert == authority.ca_path.read_bytes()
    assert tls.domain == "temporal.internal"


def test_a_certificate_without_its_key_is_refused(authority: TestAuthority) -> None:
    client = authority.issue("half", server=False)
    assert refusal(ExecutorLike(temporal_tls_cert_path=client.cert_path)) == (
        "PAID_EXECUTOR_TEMPORAL_TLS_CERT_PATH is set without PAID_EXECUTOR_TEMPORAL_TLS_KEY_PATH "
        "(mTLS needs both)"
    )


def test_a_missing_file_is_named(authority: TestAuthority, tmp_path: Path) -> None:
    client = authority.issue("gone", server=False)
    missing = tmp_path / "missing.key"
    reason = refusal(ExecutorLike(temporal_tls_cert_path=client.cert_path, temporal_tls_key_path=missing))
    assert reason == f"PAID_EXECUTOR_TEMPORAL_TLS_KEY_PATH {missing}: No such file or directory"


def test_a_key_of_another_certificate_is_refused(authority: TestAuthority) -> None:
    one, other = authority.issue("one", server=False), authority.issue("other", server=False)
    reason = refusal(ExecutorLike(temporal_tls_cert_path=one.cert_path, temporal_tls_key_path=other.key_path))
    assert reason.startswith(
        "PAID_EXECUTOR_TEMPORAL_TLS_CERT_PATH and PAID_EXECUTOR_TEMPORAL_TLS_KEY_PATH: not a"
    )


def test_files_that_are_not_pem_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate")
    assert (
        refusal(ExecutorLike(temporal_tls_ca_path=garbage))
        == f"PAID_EXECUTOR_TEMPORAL_TLS_CA_PATH {garbage}: not PEM"
    )
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert "not a PEM CA" in refusal(ExecutorLike(temporal_tls_ca_path=broken))
