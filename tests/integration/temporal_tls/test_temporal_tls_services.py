"""Each of the five services, as its console script, against Temporal behind a TLS front.

With a client certificate missing (no file, or none given), a certificate from another CA, or a wrong API
key, each service exits at start-up, before it touches its database or NATS (both unreachable here), with
one line that names the service and the reason. With good settings, the whole platform reaches Temporal
only through the front and a labeled issue becomes a pull request (heavy: a platform per access mode)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from paid_devstack.platform import SERVICES
from paid_devstack.sandbox import EmulatedPaid
from paid_devstack.tls_front import GrpcTlsFront

from .conftest import API_KEY, SERVER_NAME, Pki

pytestmark = pytest.mark.integration

WRONG_KEY = "guessed-key"
CASES = ("no certificate", "foreign certificate", "missing certificate file", "wrong API key")
# The default run starts every service once, the four cases spread over them; the heavy suite, all twenty.
SHORT = {
    "gateway": "no certificate",
    "poller": "wrong API key",
    "planner": "missing certificate file",
    "executor": "foreign certificate",
    "evolution": "wrong API key",
}


@dataclass(frozen=True)
class Fronts:
    mtls: GrpcTlsFront
    api_key: GrpcTlsFront
    pki: Pki
    scratch: Path


@pytest.fixture
def fronts(mtls_front: GrpcTlsFront, api_key_front: GrpcTlsFront, pki: Pki, tmp_path: Path) -> Fronts:
    return Fronts(mtls_front, api_key_front, pki, tmp_path)


def access_settings(service: str, case: str, fronts: Fronts) -> dict[str, str]:
    """The service's Temporal settings for `case`, each wrong in exactly one way."""
    pki = fronts.pki
    front = fronts.api_key if case == "wrong API key" else fronts.mtls
    settings = {
        "TEMPORAL_TARGET": front.target,
        "TEMPORAL_TLS_CA_PATH": str(pki.authority.ca_path),
        "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
    }
    if case == "foreign certificate":
        settings |= {
            "TEMPORAL_TLS_CERT_PATH": str(pki.foreign_client.cert_path),
            "TEMPORAL_TLS_KEY_PATH": str(pki.foreign_client.key_path),
        }
    elif case == "missing certificate file":
        settings |= {
            "TEMPORAL_TLS_CERT_PATH": str(fronts.scratch / "nowhere.pem"),
            "TEMPORAL_TLS_KEY_PATH": str(pki.client.key_path),
        }
    elif case == "wrong API key":
        settings["TEMPORAL_API_KEY"] = WRONG_KEY
    return {f"PAID_{service.upper()}_{key}": value for key, value in settings.items()}


def start_refused(service: str, case: str, fronts: Fronts) -> subprocess.Popen[str]:
    prefix = f"PAID_{service.upper()}_"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(fronts.scratch),
        # Refusals exit at once; anything else would be retried until this deadline and then fail here.
        "PAID_STARTUP_DEADLINE_SECONDS": "20",
        f"{prefix}LOG_LEVEL": "ERROR",
        f"{prefix}DATABASE_URL": "postgresql://nobody:nothing@127.0.0.1:9/none",
        f"{prefix}NATS_URL": "nats://127.0.0.1:9",
        **access_settings(service, case, fronts),
    }
    script = Path(sys.executable).parent / f"paid-{service}"
    return subprocess.Popen([str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_refusal(service: str, case: str, fronts: Fronts, process: subprocess.Popen[str]) -> None:
    _, stderr = process.communicate(timeout=120)
    what = f"{service}, {case}"
    assert process.returncode == 1, (what, stderr)
    assert "Traceback" not in stderr, (what, stderr)
    line = stderr.strip().splitlines()[-1]
    prefix = f"PAID_{service.upper()}_"
    if case == "missing certificate file":
        missing = fronts.scratch / "nowhere.pem"
        expected = f"paid-{service}: Temporal refused: {prefix}TEMPORAL_TLS_CERT_PATH {missing}: "
        assert line == expected + "No such file or directory", what
        return
    front = fronts.api_key if case == "wrong API key" else fronts.mtls
    assert line.startswith(f"paid-{service}: Temporal refused: {front.target}: "), (what, line)
    if case == "wrong API key":
        assert "UNAUTHENTICATED" in line or "401" in line, (what, line)
        assert WRONG_KEY not in line, "the key itself is never printed"
    else:
        assert "400" in line or "certificate" in line.lower(), (what, line)


def run_refusals(cases: list[tuple[str, str]], fronts: Fronts) -> None:
    """Started together (each mostly waits on its imports), then checked one by one."""
    started = [(service, case, start_refused(service, case, fronts)) for service, case in cases]
    try:
        for service, case, process in started:
            check_refusal(service, case, fronts, process)
    finally:
        for *_, process in started:
            process.kill()
            process.communicate()


def test_each_service_refused_by_the_front_exits_at_start_up_in_one_line(fronts: Fronts) -> None:
    assert set(SHORT) == set(SERVICES)
    assert set(SHORT.values()) == set(CASES)
    run_refusals(list(SHORT.items()), fronts)


@pytest.mark.heavy
@pytest.mark.parametrize("case", CASES)
def test_every_service_exits_in_one_line_for_each_refusal(fronts: Fronts, case: str) -> None:
    run_refusals([(service, case) for service in SERVICES], fronts)


def good_settings(service: str, mode: str, front: GrpcTlsFront, pki: Pki) -> dict[str, str]:
    prefix = f"PAID_{service.upper()}_TEMPORAL_"
    settings = {f"{prefix}TLS_CA_PATH": str(pki.authority.ca_path), f"{prefix}TLS_SERVER_NAME": SERVER_NAME}
    if mode == "mtls":
        settings |= {
            f"{prefix}TLS_CERT_PATH": str(pki.client.cert_path),
            f"{prefix}TLS_KEY_PATH": str(pki.client.key_path),
        }
    else:
        settings[f"{prefix}API_KEY"] = API_KEY
    return settings


@pytest.mark.heavy
@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", ["mtls", "api-key"])
def test_a_labeled_issue_becomes_a_pull_request_through_the_front(
    request: pytest.FixtureRequest, pki: Pki, mode: str
) -> None:
    front: GrpcTlsFront = request.getfixturevalue("mtls_front" if mode == "mtls" else "api_key_front")
    service_env = {service: good_settings(service, mode, front, pki) for service in SERVICES}
    service_env["executor"] |= {"PAID_EXECUTOR_AGENT": "demo", "PAID_EXECUTOR_SANDBOX": "local"}
    # Not under pytest's tmp root, which is 0700: the embedded PostgreSQL runs as another user.
    home = Path(tempfile.mkdtemp(prefix=f"paid-tls-{mode}-"))
    with EmulatedPaid(home, service_env=service_env, temporal_target=front.target) as paid:
        issue = paid.create_repository("acme", f"calculator-{mode}")
        paid.label(issue)
        pull = paid.wait_for_pull(issue, timeout=300)
        assert f"#{issue.number}" in pull["body"]
        result = paid.wait_for_result_comment(issue)
        assert "Outcome: **succeeded**" in result["body"]
