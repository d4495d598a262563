"""Checks over the rendered Kubernetes manifests (deploy/k8s): each returns a list of problems, empty when
the objects pass, so that a test can show them all at once and an adversarial test can show one."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate  # type: ignore[import-untyped]
import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from paid_evolution.config import EvolutionSettings
from paid_executor.config import ExecutorSettings
from paid_gateway.config import GatewaySettings
from paid_notifier.config import NotifierSettings
from paid_planner.config import PlannerSettings
from paid_poller.config import PollerSettings
from paid_runtime.settings import SECRET_WORDS, ServiceSettings

Json = dict[str, Any]
SecretValue = Callable[[str, str], str]
"""(Secret name, key) -> the value the check uses: the rendered one, or a stand-in for an operator's."""

KUBERNETES_VERSION = "1.37.0"
SERVICE_SETTINGS: dict[str, type[ServiceSettings]] = {
    "gateway": GatewaySettings,
    "poller": PollerSettings,
    "planner": PlannerSettings,
    "executor": ExecutorSettings,
    "evolution": EvolutionSettings,
    "notifier": NotifierSettings,
}
BUBBLEWRAP_CONTAINERS = frozenset({"executor"})
"""May run without seccomp and AppArmor confinement and with an unmasked /proc, which bubblewrap needs to
build the agents' namespaces, but only in a pod with its own user namespace (hostUsers: false)."""
LOOPBACK_DEFAULT = re.compile(r"(^|//)(127\.0\.0\.1|localhost)(:|/|$)")
"""A default that reaches this host works on a developer's machine; in a pod it reaches the pod itself."""
REFERENCE = re.compile(r"\$\((\w+)\)")


def render(kustomization: Path, kubectl: Path) -> list[Json]:
    result = subprocess.run(
        [str(kubectl), "kustomize", str(kustomization)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {kustomization} failed: {result.stderr.strip()}")
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def schema_problems(objects: list[Json]) -> list[str]:
    problems = []
    for item in objects:
        try:
            kubernetes_validate.validate(item, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{_name(item)}: {'.'.join(map(str, error.path))}: {error.message}")
    return problems


def _name(item: Json) -> str:
    return f"{item.get('kind')}/{item.get('metadata', {}).get('name')}"


def pod_templates(objects: list[Json]) -> Iterator[tuple[str, Json]]:
    for item in objects:
        if item.get("kind") in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            yield _name(item), item["spec"]["template"]["spec"]


def security_problems(objects: list[Json]) -> list[str]:
    """Non-root, unprivileged, no added capabilities, confined, with requests and limits."""
    problems = []
    for where, pod in pod_templates(objects):
        pod_context = pod.get("securityContext", {})
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(flag):
                problems.append(f"{where}: {flag} is set")
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            at = f"{where} container {container['name']}"
            context = container.get("securityContext", {})
            problems += [f"{at}: {issue}" for issue in _container_issues(pod, pod_context, context, at)]
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(kind, {})):
                    problems.append(f"{at}: resources.{kind} must set cpu and memory")
            if container["name"] in BUBBLEWRAP_CONTAINERS and pod.get("hostUsers") is not False:
                problems.append(f"{at}: runs bubblewrap, so its pod needs hostUsers: false")
    return problems


def _container_issues(pod: Json, pod_context: Json, context: Json, at: str) -> Iterator[str]:
    def setting(name: str) -> Any:
        return context.get(name, pod_context.get(name))

    if setting("runAsNonRoot") is not True:
        yield "runAsNonRoot must be true"
    if setting("runAsUser") in (None, 0):
        yield "runAsUser must name a non-root user (the image's user is not checked here)"
    if context.get("privileged"):
        yield "privileged"
    if context.get("allowPrivilegeEscalation") is not False:
        yield "allowPrivilegeEscalation must be false"
    capabilities = context.get("capabilities", {})
    if "ALL" not in capabilities.get("drop", []):
        yield "capabilities must drop ALL"
    if capabilities.get("add"):
        yield f"adds capabilities {capabilities['add']}"
    name = at.rsplit(" ", 1)[-1]
    relaxed = name in BUBBLEWRAP_CONTAINERS
    seccomp = (setting("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost") and not (relaxed and seccomp == "Unconfined"):
        yield f"seccompProfile {seccomp} (RuntimeDefault or Localhost)"
    apparmor = (setting("appArmorProfile") or {}).get("type")
    if apparmor == "Unconfined" and not relaxed:
        yield "appArmorProfile Unconfined"
    if context.get("procMount", "Default") != "Default" and not relaxed:
        yield f"procMount {context['procMount']}"


def probe_problems(objects: list[Json]) -> list[str]:
    problems = []
    for item in objects:
        if item.get("kind") != "Deployment":
            continue
        for container in item["spec"]["template"]["spec"]["containers"]:
            probe = container.get("readinessProbe", {}).get("httpGet", {})
            if probe.get("path") != "/readyz":
                problems.append(f"{_name(item)} container {container['name']}: no readinessProbe on /readyz")
    return problems


@dataclass(frozen=True)
class EnvValue:
    value: str
    from_secret: bool
    raw: str
    """As written in the manifest (a `value` with its $(VAR) references unexpanded)."""


def container_env(objects: list[Json], deployment: str, secret_value: SecretValue) -> dict[str, EnvValue]:
    """The container's environment as Kubernetes builds it: envFrom, then env in order, with $(VAR)
    expanded from the variables before it; a reference to a missing ConfigMap or Secret key fails."""
    by_kind_name = {(item["kind"], item["metadata"]["name"]): item for item in objects}
    (pod,) = (pod for where, pod in pod_templates(objects) if where == f"Deployment/{deployment}")
    (container,) = (c for c in pod["containers"] if c["name"] == deployment)
    env: dict[str, EnvValue] = {}

    def lookup(kind: str, reference: Json) -> str | None:
        item = by_kind_name.get((kind, reference["name"]))
        keys = {*item.get("data", {}), *item.get("stringData", {})} if item else set()
        if reference["key"] not in keys:
            if reference.get("optional"):
                return None
            raise AssertionError(f"{deployment}: {kind} {reference['name']} has no key {reference['key']}")
        if kind == "Secret":
            return secret_value(reference["name"], reference["key"])
        return str(item["data"][reference["key"]]) if item else None

    for source in container.get("envFrom", []):
        kind, reference = ("Secret", source["secretRef"]) if "secretRef" in source else ("ConfigMap", None)
        reference = reference or source["configMapRef"]
        item = by_kind_name.get((kind, reference["name"]))
        if item is None:
            raise AssertionError(f"{deployment}: envFrom names a missing {kind} {reference['name']}")
        for key in item.get("data", {}):
            value = lookup(kind, {"name": reference["name"], "key": key}) or ""
            env[key] = EnvValue(value, kind == "Secret", value)
    for variable in container.get("env", []):
        name = variable["name"]
        if "value" in variable:
            raw = str(variable["value"])
            expanded = REFERENCE.sub(lambda m: env[m[1]].value if m[1] in env else m[0], raw)
            from_secrets = any(env[ref].from_secret for ref in REFERENCE.findall(raw) if ref in env)
            env[name] = EnvValue(expanded, from_secrets, raw)
            continue
        source = variable["valueFrom"]
        if "secretKeyRef" in source:
            found = lookup("Secret", source["secretKeyRef"])
            if found is not None:
                env[name] = EnvValue(found, True, "")
        elif "configMapKeyRef" in source:
            found = lookup("ConfigMap", source["configMapKeyRef"])
            if found is not None:
                env[name] = EnvValue(found, False, found)
        else:
            env[name] = EnvValue("<from the pod>", False, "")
    return env


def settings_problems(objects: list[Json], secret_value: SecretValue) -> list[str]:
    problems = []
    for service, settings_class in SERVICE_SETTINGS.items():
        env = container_env(objects, service, secret_value)
        problems += [f"{service}: {problem}" for problem in _service_problems(settings_class, env)]
    return problems


def _service_problems(settings_class: type[ServiceSettings], env: dict[str, EnvValue]) -> Iterator[str]:
    prefix = str(settings_class.model_config.get("env_prefix", "")).upper()
    fields = settings_class.model_fields
    variable_of = {f"{prefix}{name.upper()}": name for name in fields}
    for variable in env:
        if variable.startswith(prefix) and variable not in variable_of:
            yield f"{variable} is no setting of {settings_class.__name__}"
    for variable, name in variable_of.items():
        field = fields[name]
        if variable not in env:
            if field.is_required() or LOOPBACK_DEFAULT.search(str(field.default)):
                yield f"{variable} is required (default {field.default!r}) and not supplied"
            continue
        if any(word in name for word in SECRET_WORDS) and not env[variable].from_secret:
            yield f"{variable} is a credential and must come from a Secret"
    database_url = env.get(f"{prefix}DATABASE_URL")
    if database_url is not None and urlsplit(database_url.raw).password is not None:
        password = urlsplit(database_url.raw).password or ""
        reference = REFERENCE.fullmatch(password)
        if reference is None or not env.get(reference[1], EnvValue("", False, "")).from_secret:
            yield f"{prefix}DATABASE_URL's password must be a $(VAR) from a Secret"
    if env.get(f"{prefix}ENVIRONMENT", EnvValue("", False, "")).value != "production":
        yield f"{prefix}ENVIRONMENT must be production (the settings refuse placeholders only there)"
    given = {name: env[variable].value for variable, name in variable_of.items() if variable in env}
    try:
        _manifest_only(settings_class)(**given)
    except ValidationError as error:
        for issue in error.errors():
            yield f"settings refused: {'.'.join(map(str, issue['loc'])) or '-'}: {issue['msg']}"


def _manifest_only(settings_class: type[ServiceSettings]) -> Callable[..., ServiceSettings]:
    """The settings class reading nothing but its keyword arguments (not this process's environment)."""

    class FromManifestOnly(settings_class):  # type: ignore[misc,valid-type]
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings,)

    return FromManifestOnly
