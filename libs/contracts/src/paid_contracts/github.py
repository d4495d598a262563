"""Value objects shared by events that concern GitHub."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RepoRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    owner: str = Field(min_length=1)
    name: str = Field(min_length=1)
    clone_url: str | None = Field(default=None, description="HTTPS clone URL as GitHub reports it")

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class IssueRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    repo: RepoRef
    number: int = Field(gt=0)

    @property
    def key(self) -> str:
        return f"{self.repo.full_name}#{self.number}"
