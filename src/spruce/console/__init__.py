"""The web console: static pages served by ``spruce serve`` itself at ``/console/``.

Every asset ships inside the package (``static/``), is read once at first use and kept in memory, and is
served without an API key: the pages hold no data. Everything they show comes from the same API that the
SDK uses, called from the browser with the key the user types in (sent as the SDK sends it, in the
``Api-Key`` header), so the console can do nothing the key cannot. Nothing is fetched from elsewhere at
run time: no CDN, no fonts, no analytics.
"""

from __future__ import annotations

import functools
import mimetypes
from importlib import resources

__all__ = ["asset"]

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


@functools.cache
def asset(name: str) -> tuple[bytes, str] | None:
    """The bytes and content type of ``static/<name>`` (``""`` is ``index.html``), or None if there is no
    such file. Names come from URL path segments: only plain file names in ``static/`` resolve (no ``..``,
    no sub-directories), so nothing outside the package can be reached."""
    name = name or "index.html"
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    node = resources.files(__package__).joinpath("static", name)
    if not node.is_file():
        return None
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    kind = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return node.read_bytes(), kind
