"""The gateway's read models, built from the events on NATS: what the API and the dashboard read."""
