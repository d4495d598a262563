"""Asking the model for a plan: render the versioned prompt, call the LLM layer, validate fully."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from temporalio.exceptions import ApplicationError

from paid_contracts import PromptCategory
from paid_llm import ChatRequest, LLMClient, LLMError, Message, StructuredOutputError, complete_structured
from paid_llm.errors import RateLimited
from paid_planner.params import DraftInput, DraftOutcome
from paid_planner.plan_schema import PlanDraft
from paid_prompt_client import CATEGORY_VARIABLES, PromptTemplateError, bundled_prompt, render_template

MAX_TASKS = 12
LLMFactory = Callable[[], LLMClient]


def planning_request(request: DraftInput) -> ChatRequest:
    """The prompt evolution resolved when the plan was requested (or the bundled one of its version), its
    variables filled by paid_prompt_client's sandboxed environment: issue and answer text stay data."""
    context = request.context
    template = request.prompt_template or bundled_prompt(request.prompt_version).template
    values = {
        "max_tasks": MAX_TASKS,
        "repo": request.issue.repo.full_name,
        "default_branch": context.default_branch,
        "tree": context.tree,
        "tree_truncated": context.tree_truncated,
        "files": context.files,
        "number": request.issue.number,
        "title": context.issue.title,
        "body": context.issue.body,
        "answers": request.answers,
    }
    text = render_template(template, CATEGORY_VARIABLES[PromptCategory.PLANNING], values)
    return ChatRequest(
        system="You plan software work for coding agents. You answer with JSON only.",
        messages=(Message(role="user", content=text),),
        max_tokens=8192,
    )


async def draft_plan(llm: LLMFactory, request: DraftInput) -> DraftOutcome:
    """A plan or a failure to report; raises only what Temporal should retry (or stop on at once)."""
    try:
        chat = planning_request(request)
    except (LookupError, PromptTemplateError) as error:
        raise ApplicationError(
            f"the planning prompt {request.prompt_version} cannot be used: {error}",
            type="InvalidPrompt",
            non_retryable=True,
        ) from error
    client = llm()
    try:
        result = await complete_structured(client, chat, PlanDraft)
    except StructuredOutputError as error:
        return DraftOutcome(
            failure=f"the model's plan was invalid even after one repair: {error.errors}", model=client.model
        )
    except LLMError as error:
        delay = (
            timedelta(seconds=error.retry_after)
            if isinstance(error, RateLimited) and error.retry_after
            else None
        )
        raise ApplicationError(
            str(error), type=type(error).__name__, non_retryable=not error.retryable, next_retry_delay=delay
        ) from error
    finally:
        await client.aclose()
    if len(result.value.tasks) > MAX_TASKS:
        return DraftOutcome(
            failure=f"the model planned {len(result.value.tasks)} tasks; at most {MAX_TASKS} are allowed",
            model=client.model,
        )
    return DraftOutcome(
        plan=result.value,
        model=result.completions[-1].model,
        repaired=result.repaired,
        input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens,
        cost_usd=result.cost_usd,
    )
