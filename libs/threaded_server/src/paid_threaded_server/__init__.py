"""An ASGI app served by uvicorn in a background thread: how the emulators run inside tests and benches."""

from paid_threaded_server.server import ThreadedServer

__all__ = ["ThreadedServer"]
