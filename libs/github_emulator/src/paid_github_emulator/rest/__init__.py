"""The REST API, mounted at /api/v3 like GitHub Enterprise Server."""
