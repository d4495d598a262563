"""The metering LLM proxy: agents call it instead of the provider, with a per-run token."""

from paid_executor.proxy.ledger import Budget, Ledger
from paid_executor.proxy.server import MeteringProxy

__all__ = ["Budget", "Ledger", "MeteringProxy"]
