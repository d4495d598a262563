"""The metering LLM proxy: agents call it instead of the provider, with a per-run token."""

from paid_executor.proxy.budgets import Cap, SpendPolicy
from paid_executor.proxy.ledger import Budget, Ledger
from paid_executor.proxy.server import MeteringProxy
from paid_executor.proxy.shared_ledger import SharedLedger

__all__ = ["Budget", "Cap", "Ledger", "MeteringProxy", "SharedLedger", "SpendPolicy"]
