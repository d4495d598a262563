"""Reflective mutation through the real LLM layer (paid_llm) against the LLM emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from temporalio.exceptions import ApplicationError

from paid_contracts import PromptCategory
from paid_evolution.llm_mutation import LlmMutationGenerator
from paid_evolution.params import MutationInput
from paid_llm import LLMSettings, Provider, RateLimited, make_client
from paid_llm_emulator import LLMEmulator
from paid_prompt_client import DEFAULT_PROMPTS, validate_template

CODING = DEFAULT_PROMPTS[PromptCategory.CODING]
BETTER = CODING.template + "Before changing anything, run the tests and read the failure.\n"
SHORTER = "Fix issue #{{ number }} ({{ title }}) in {{ repo }} on {{ branch }}:\n{{ body }}\n"
ANSWER = (
    f"Two variants.\n<prompt>\n{BETTER}</prompt>\nand\n<prompt>{SHORTER}</prompt>\n<prompt>{SHORTER}</prompt>"
)


@pytest.fixture
def llm() -> Iterator[LLMEmulator]:
    with LLMEmulator() as emulator:
        yield emulator


def request(count: int = 2) -> MutationInput:
    return MutationInput(
        category=PromptCategory.CODING,
        parent_version="coding@1",
        template=CODING.template,
        variables=list(CODING.variables),
        feedback=[
            "run r1: outcome tests_failing; pull request closed; the tests still fail: expected 5, got -1"
        ],
        count=count,
    )


def generator(llm: LLMEmulator) -> LlmMutationGenerator:
    settings = LLMSettings(
        provider=Provider.ANTHROPIC, base_url=llm.anthropic_base_url, model="claude-sonnet-4-5", api_key="k"
    )
    return LlmMutationGenerator(make_client(settings))


async def test_the_model_sees_the_prompt_and_the_failures_and_its_variants_are_parsed(
    llm: LLMEmulator,
) -> None:
    llm.reply(ANSWER, contains="Reflect on what in the prompt led to these failures")

    variants = await generator(llm).generate(request())

    assert variants == [BETTER, SHORTER]  # in order, the duplicate dropped
    for variant in variants:
        validate_template(variant, CODING.variables)
    (sent,) = llm.requests
    assert "expected 5, got -1" in sent.last_user_message
    assert "Resolve GitHub issue #{{ number }}" in sent.last_user_message  # the template, as text
    assert "<prompt>" in sent.system


async def test_at_most_count_variants_are_kept(llm: LLMEmulator) -> None:
    llm.reply(ANSWER)
    assert await generator(llm).generate(request(count=1)) == [BETTER]


async def test_a_refusal_is_permanent_and_a_rate_limit_is_retried_by_temporal(llm: LLMEmulator) -> None:
    llm.fail(400, times=1)
    with pytest.raises(ApplicationError) as refused:
        await generator(llm).generate(request())
    assert refused.value.non_retryable
    llm.fail(429, retry_after=1, times=1)
    with pytest.raises(RateLimited):
        await generator(llm).generate(request())
