"""The ingestion + query server (`spanscope serve`)."""

from spanscope.server.app import create_app
from spanscope.server.run import ServerThread, serve

__all__ = ["ServerThread", "create_app", "serve"]
