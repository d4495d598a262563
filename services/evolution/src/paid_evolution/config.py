from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from paid_runtime.settings import ServiceSettings


class EvolutionSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAID_EVOLUTION_", extra="ignore")

    http_port: int = 8104
    db_schema: str = "evolution"
    task_queue: str = "evolution"
    sweep_every_hours: float = 24.0
    # "none": observe and score only; "llm": reflective mutation through paid_llm (see README).
    mutation_generator: str = "none"
