"""paid-poller."""
