"""Paid's notifier: run, plan, budget and project events, routed per project and kind to Slack, email
and signed webhooks, delivered at least once with a delivery log that dedupes on the sender's side."""
