"""paid-devstack."""
