"""paid-planner."""
