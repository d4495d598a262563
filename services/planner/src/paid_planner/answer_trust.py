"""Who may answer a plan's questions: the same rule as for applying Paid's labels, write access.

A comment's `author_association` alone is not enough: COLLABORATOR includes read-only collaborators
and MEMBER any member of the owning organization, and an answer is text the planner's model reads.
The association only spares GitHub the question for everyone else (NONE, CONTRIBUTOR, ...).
"""

from __future__ import annotations

from paid_contracts import IssueCommented
from paid_runtime.github_credentials import CredentialUnavailable, GitHubCredentials
from paid_runtime.github_trust import GitHubUnavailableError, decide_trust, github_client


class AnswerTrust:
    def __init__(self, api_url: str, credentials: GitHubCredentials, associations: tuple[str, ...]) -> None:
        self._api_url = api_url
        self._credentials = credentials
        self._associations = {association.upper() for association in associations}

    async def trusted(self, event: IssueCommented) -> bool:
        """Raises `GitHubUnavailableError` when GitHub cannot say (the event is then redelivered)."""
        if event.author_association.upper() not in self._associations:
            return False
        repo = event.issue.repo
        try:
            credential = await self._credentials.for_repository(repo.full_name, "trust")
        except CredentialUnavailable as error:
            raise GitHubUnavailableError(error.reason) from None
        async with github_client(self._api_url, credential.token) as client:
            decision = await decide_trust(
                client, owner=repo.owner, name=repo.name, login=event.author, allowlist=()
            )
        return decision.trusted
