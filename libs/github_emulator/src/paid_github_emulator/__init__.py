"""paid-github-emulator: a local GitHub (REST under /api/v3, git smart HTTP, signed webhooks) for tests."""

from paid_github_emulator.emulator import Emulator
from paid_github_emulator.ratelimit import Usage
from paid_github_emulator.server import GitHubEmulator, create_app
from paid_github_emulator.state import DeliveryRecord, User
from paid_github_emulator.webhooks import sign

__all__ = ["DeliveryRecord", "Emulator", "GitHubEmulator", "Usage", "User", "create_app", "sign"]
