"""paid-gateway."""
