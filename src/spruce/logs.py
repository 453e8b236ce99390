"""How spruce's processes log: ``--log-level`` for spruce's own loggers, ``--log-format text|json``.

Only loggers under ``spruce`` follow the level; libraries (httpx, the SDK in ``demo``, uvicorn) stay at
WARNING. ``json`` writes one object per line for log shippers: ``ts`` (UTC, ISO 8601), ``level``,
``logger``, ``message``, and the structured fields a record carries (the access log's ``method``,
``path``, ``route``, ``status``, ``duration_ms``, ``request_id``; ``server.app``), plus ``exc`` with the
traceback of a logged exception.
"""

from __future__ import annotations

import datetime
import logging

import orjson

__all__ = ["JsonFormatter", "configure"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# the attributes every LogRecord has; anything else on a record came from ``extra=`` and is a field
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update((k, v) for k, v in vars(record).items() if k not in _STANDARD)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def configure(level: str = "info", fmt: str = "text") -> None:
    """Set up the root handler (stderr) in ``fmt`` and spruce's loggers at ``level``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("spruce").setLevel(level.upper())
