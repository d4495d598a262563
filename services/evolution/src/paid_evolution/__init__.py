"""paid-evolution."""
