"""paid-runtime."""
