"""The gateway serves evolution's API under its own roles and forwards with the internal token.

Evolution is stood in for by a small HTTP server that, like the real one, answers only the internal
token and records what it was sent (services never import each other; tests/integration drives the
real pair)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faststream.nats import NatsBroker
from serving import GatewayFor, StandInService, gateway_forwarding_to, served
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paid_gateway.auth.tokens import Role
from paid_gateway.config import GatewaySettings

INTERNAL_TOKEN = "internal-token-shared-with-evolution"


@pytest.fixture
async def evolution() -> AsyncIterator[tuple[StandInService, str]]:
    stand_in = StandInService(INTERNAL_TOKEN, ["GET", "POST"])
    async with served(stand_in.app, "the stand-in evolution") as url:
        yield stand_in, url


@pytest.fixture
def gateway_for(
    api_settings: GatewaySettings,
    broker: NatsBroker,
    sessions: async_sessionmaker[AsyncSession],
    evolution: tuple[StandInService, str],
) -> GatewayFor:
    """A client of a gateway that forwards to the stand-in evolution with the given internal token."""
    return gateway_forwarding_to(api_settings, broker, sessions, "evolution", evolution[1])


async def test_a_viewer_reads_through_the_gateway_with_the_internal_token_added(
    gateway_for: GatewayFor, role_tokens: dict[Role, str], evolution: tuple[StandInService, str]
) -> None:
    stand_in = evolution[0]
    viewer = {"Authorization": f"Bearer {role_tokens[Role.VIEWER]}"}
    async with gateway_for(INTERNAL_TOKEN) as http:
        read = await http.get("/api/evolution/experiments", params={"status": "running"}, headers=viewer)
        refused = await http.post(
            "/api/evolution/experiments/x/approval", json={"approved": True}, headers=viewer
        )
    assert read.status_code == 200, read.text
    assert read.json() == {"served": "experiments"}
    assert refused.status_code == 403  # a viewer cannot change what evolution does
    assert stand_in.received == [("GET", "/api/experiments", "status=running", b"")]


async def test_an_operator_rolls_back_a_prompt(
    gateway_for: GatewayFor, role_tokens: dict[Role, str], evolution: tuple[StandInService, str]
) -> None:
    stand_in = evolution[0]
    operator = {"Authorization": f"Bearer {role_tokens[Role.OPERATOR]}"}
    async with gateway_for(INTERNAL_TOKEN) as http:
        rolled = await http.post("/api/evolution/prompts/coding/projects/acme/app/rollback", headers=operator)
    assert rolled.status_code == 200, rolled.text
    assert stand_in.received == [("POST", "/api/prompts/coding/projects/acme/app/rollback", "", b"")]


async def test_a_wrong_internal_token_is_the_gateways_fault_not_the_callers(
    gateway_for: GatewayFor, role_tokens: dict[Role, str], evolution: tuple[StandInService, str]
) -> None:
    stand_in = evolution[0]
    admin = {"Authorization": f"Bearer {role_tokens[Role.ADMIN]}"}
    async with gateway_for("stale") as http:
        answer = await http.get("/api/evolution/prompts", headers=admin)
    assert answer.status_code == 502
    assert stand_in.received == []


async def test_path_parameters_cannot_reach_another_route_of_evolution(
    gateway_for: GatewayFor, role_tokens: dict[Role, str], evolution: tuple[StandInService, str]
) -> None:
    stand_in = evolution[0]
    operator = {"Authorization": f"Bearer {role_tokens[Role.OPERATOR]}"}
    async with gateway_for(INTERNAL_TOKEN) as http:
        escaped = await http.get("/api/evolution/versions/coding%401%3Fagainst%3Dx", headers=operator)
        slashed = await http.get("/api/evolution/versions/..%2Fexperiments", headers=operator)
        traversal = await http.post(
            "/api/evolution/prompts/coding/projects/acme/%2E%2E/%2E%2E/experiments/x/approval/rollback",
            headers=operator,
        )
    assert escaped.status_code == 200
    # One opaque path segment, as sent: the `?` stayed in the id rather than becoming a query.
    assert stand_in.received[0][1:3] == ("/api/versions/coding@1%3Fagainst=x", "")
    assert (slashed.status_code, traversal.status_code) == (404, 422)
    assert len(stand_in.received) == 1
