"""Coding agents as declarative adapters: how each is invoked and how its output is read.

Nothing is imported here: `paid-demo-agent` runs as `paid_executor.agents.demo_agent`, and importing
the registry (settings, the proxy, SQLAlchemy) made ~1 s of its start on every run."""
