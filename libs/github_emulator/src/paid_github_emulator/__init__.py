"""paid-github-emulator."""
