"""paid-executor."""
