"""The HTTP server: Pinecone's REST API (control and data plane) as a thin ASGI layer over the engine.

Layout, one job per module: ``app`` (auth, body caps, routing, errors; the ASGI entry), ``routing`` (route
table), ``control`` / ``data`` / ``namespaces`` (handlers), ``http`` (request and response values),
``wire`` (decoding), ``bodies`` (the typed request and response bodies), ``encode`` and ``index_model``
(response shapes per API version), ``errors`` (error bodies), ``openapi`` (the document, built from the
route table and the bodies), ``run`` (socket, uvicorn, shutdown), ``config`` (settings). The handlers
reach the engine only through :mod:`spruce.api`. ``spruce demo`` is a client of the server and lives
outside it (``spruce.demo``).
"""

from spruce.server.app import SpruceApp
from spruce.server.config import Context, ServerConfig
from spruce.server.run import bind_socket, serve

__all__ = ["Context", "ServerConfig", "SpruceApp", "bind_socket", "serve"]
