"""Runtime plumbing every Paid service shares: settings, telemetry, NATS, Temporal, database, HTTP."""
