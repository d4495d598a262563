"""The planning prompt comes from evolution's registry, like the coding prompt, and is rendered by
paid_prompt_client's sandbox: issue, answer and file text reach the model as data, never as template."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.aio.msg import Msg
from temporalio.exceptions import ApplicationError

from paid_contracts import (
    IssueRef,
    PromptCategory,
    PromptResolveReply,
    PromptResolveRequest,
    RepoRef,
    subjects,
)
from paid_devstack.nats import NatsServer
from paid_planner.drafting import draft_plan, planning_request
from paid_planner.params import Answer, DraftInput, IssueDetails, PlanningInput, RepositoryContext
from paid_planner.subscribers import PlanningPrompts
from paid_runtime.messaging import make_broker

ISSUE = IssueRef(
    repo=RepoRef(owner="acme", name="calc", clone_url="https://example.test/acme/calc.git"), number=4
)
HOSTILE = (
    "{{ 7 * 7 }} {% for i in range(3) %}loop{% endfor %} {{ answers }} {% raw %}x{% endraw %} "
    "{{ ''.__class__.__mro__[1].__subclasses__() }} {# gone? #}"
)
REGISTRY_TEMPLATE = (
    "Plan {{ repo }}#{{ number }} in at most {{ max_tasks }} tasks.\n{{ title }}\n{{ body }}\n"
)


def draft_input(**overrides: object) -> DraftInput:
    context = RepositoryContext(
        issue=IssueDetails(title=f"Title {HOSTILE}", state="open", html_url="https://x.test/4", body=HOSTILE),
        default_branch="main",
        tree=("README.md", "docs/{{ 7 * 7 }}.md"),
        tree_truncated=False,
        files={"CONTRIBUTING.md": f"Contributing {HOSTILE}"},
    )
    values: dict[str, object] = {
        "plan_id": "plan:acme/calc#4",
        "issue": ISSUE,
        "context": context,
        "answers": (Answer(author="octo", body=f"Answer {HOSTILE}"),),
        "prompt_version": "planning@1",
    }
    return DraftInput.model_validate(values | overrides)


def test_issue_answer_and_file_text_stay_data_in_the_bundled_planning_prompt() -> None:
    prompt = planning_request(draft_input()).messages[0].content
    # Each hostile text arrives verbatim, once per place it was put: nothing in it was evaluated.
    assert prompt.count(HOSTILE) == 4  # body, title, answer, CONTRIBUTING.md
    assert "docs/{{ 7 * 7 }}.md" in prompt
    assert "49" not in prompt
    assert "looploop" not in prompt
    assert "<class" not in prompt


def test_a_template_from_the_registry_is_rendered_with_the_issue_as_data() -> None:
    request = draft_input(prompt_version="planning@7", prompt_template=REGISTRY_TEMPLATE)
    prompt = planning_request(request).messages[0].content
    assert prompt == f"Plan acme/calc#4 in at most 12 tasks.\nTitle {HOSTILE}\n{HOSTILE}\n"


async def test_a_prompt_that_cannot_render_stops_the_plan_without_asking_the_model() -> None:
    def no_model() -> object:
        raise AssertionError("the model was asked")

    bad = draft_input(prompt_version="planning@8", prompt_template="{{ repo }} {{ secret_setting }}")
    with pytest.raises(ApplicationError, match="planning@8 cannot be used") as raised:
        await draft_plan(no_model, bad)  # type: ignore[arg-type]
    assert raised.value.non_retryable
    with pytest.raises(ApplicationError, match="no prompt 'planning@404'"):
        await draft_plan(no_model, draft_input(prompt_version="planning@404"))  # type: ignore[arg-type]


@pytest.fixture
async def nats_url(tmp_path: Path) -> AsyncIterator[str]:
    with NatsServer(tmp_path / "nats", sync_always=False) as server:
        yield server.url


async def test_the_plan_records_the_version_evolution_resolved(nats_url: str) -> None:
    asked: list[PromptResolveRequest] = []

    async def evolution(message: Msg) -> None:
        asked.append(PromptResolveRequest.model_validate_json(message.data))
        reply = PromptResolveReply(
            version="planning@7",
            category=PromptCategory.PLANNING,
            template=REGISTRY_TEMPLATE,
            variables=("body", "max_tasks", "number", "repo", "title"),
        )
        await message.respond(reply.model_dump_json().encode())

    registry = await nats.connect(nats_url)
    broker = make_broker(nats_url, "planner")
    try:
        await registry.subscribe(subjects.PROMPT_RESOLVE, cb=evolution)
        await registry.flush()
        await broker.connect()
        request = PlanningInput(issue=ISSUE, label="paid-plan", actor="octo", request_event_id="d1")
        chosen = await PlanningPrompts(broker).choose(request)
    finally:
        await broker.stop()
        await registry.close()
    assert [(a.category, a.project, a.run_key) for a in asked] == [
        (PromptCategory.PLANNING, "acme/calc", "plan:acme/calc#4")
    ]
    assert (chosen.prompt_version, chosen.prompt_template) == ("planning@7", REGISTRY_TEMPLATE)
