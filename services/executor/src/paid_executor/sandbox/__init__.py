"""Where an agent's processes run: behind one interface, a plain local process, bubblewrap or Docker."""

from paid_executor.sandbox.base import Sandbox, SandboxError, SandboxRequest, sandbox_for

__all__ = ["Sandbox", "SandboxError", "SandboxRequest", "sandbox_for"]
