"""Resolve and render Paid's prompts: ask evolution (`paid.prompt.resolve`), fall back to bundled defaults."""

from paid_prompt_client.client import PromptClient, ResolvedPrompt
from paid_prompt_client.defaults import (
    CATEGORY_VARIABLES,
    DEFAULT_PROMPTS,
    DefaultPrompt,
    bundled_prompt,
    default_prompt,
)
from paid_prompt_client.templates import (
    PromptTemplateError,
    content_hash,
    referenced_variables,
    render_template,
    validate_template,
)

__all__ = [
    "CATEGORY_VARIABLES",
    "DEFAULT_PROMPTS",
    "DefaultPrompt",
    "PromptClient",
    "PromptTemplateError",
    "ResolvedPrompt",
    "bundled_prompt",
    "content_hash",
    "default_prompt",
    "referenced_variables",
    "render_template",
    "validate_template",
]
