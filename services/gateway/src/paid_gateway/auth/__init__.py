"""API tokens with roles: viewer < operator < admin."""
