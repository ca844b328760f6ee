"""Run the survey service with uvicorn: limits, timeouts and light worker processes.

* **Request timeout**: a connection whose request (headers and body) is not
  complete within ``request_timeout`` seconds of its first byte, or that sends
  nothing that long after it opened, is closed. uvicorn itself times out only
  idle keep-alive connections, so a client sending a request slowly
  ("slowloris") would hold a connection open for ever.
* **Concurrency cap**: beyond ``max_connections`` open connections or running
  requests per worker, uvicorn answers 503 at once.
* **Fast event loop and parser**: uvloop and httptools.
* **Light workers**: ``--workers N`` runs ``python -m peakend.survey.server``;
  uvicorn starts each worker with *spawn*, which imports the parent's main
  module again, so that module is this small one rather than the whole CLI. A
  worker that does not answer uvicorn's health check within
  ``worker_start_timeout`` seconds is replaced; the default leaves room for a
  busy host.

The settings come from the environment (``PEAKEND_SURVEY_*``, see
:func:`peakend.survey.app.app_from_env`), which ``peakend survey serve`` sets.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

REQUEST_TIMEOUT_S = 10.0
MAX_CONNECTIONS = 1000
WORKER_START_TIMEOUT_S = 60
FACTORY = "peakend.survey.app:app_from_env"


@dataclass(frozen=True)
class ServerOptions:
    """How the service listens; see the module docs for the limits."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    request_timeout: float = REQUEST_TIMEOUT_S
    max_connections: int = MAX_CONNECTIONS
    worker_start_timeout: int = WORKER_START_TIMEOUT_S

    def to_env(self) -> dict[str, str]:
        return {
            "PEAKEND_SURVEY_HOST": self.host,
            "PEAKEND_SURVEY_PORT": str(self.port),
            "PEAKEND_SURVEY_WORKERS": str(self.workers),
            "PEAKEND_SURVEY_REQUEST_TIMEOUT_S": str(self.request_timeout),
            "PEAKEND_SURVEY_MAX_CONNECTIONS": str(self.max_connections),
            "PEAKEND_SURVEY_WORKER_START_TIMEOUT_S": str(self.worker_start_timeout),
        }

    @classmethod
    def from_env(cls) -> ServerOptions:
        env = os.environ
        return cls(
            host=env.get("PEAKEND_SURVEY_HOST", "127.0.0.1"),
            port=int(env.get("PEAKEND_SURVEY_PORT", "8000")),
            workers=int(env.get("PEAKEND_SURVEY_WORKERS", "1")),
            request_timeout=float(env.get("PEAKEND_SURVEY_REQUEST_TIMEOUT_S", REQUEST_TIMEOUT_S)),
            max_connections=int(env.get("PEAKEND_SURVEY_MAX_CONNECTIONS", MAX_CONNECTIONS)),
            worker_start_timeout=int(
                env.get("PEAKEND_SURVEY_WORKER_START_TIMEOUT_S", WORKER_START_TIMEOUT_S)
            ),
        )


class TimedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for receiving each request."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.request_timeout = float(getattr(config, "request_timeout", REQUEST_TIMEOUT_S))
        self.request_timer: asyncio.TimerHandle | None = None

    def _arm(self) -> None:
        self._disarm()
        self.request_timer = self.loop.call_later(self.request_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self.request_timer is not None:
            self.request_timer.cancel()
            self.request_timer = None

    def _too_slow(self) -> None:
        self.request_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


class ServiceConfig(uvicorn.Config):
    """uvicorn settings of the survey service, carrying the request timeout.

    Also re-wraps the shared listening socket of several workers as TCP:
    uvicorn binds it with protocol 0, accepted connections inherit that,
    asyncio then leaves Nagle's algorithm on, and every keep-alive response
    waits ~40 ms for the client's delayed ACK (uvicorn issue #3149).
    """

    def __init__(self, app: Any, *, request_timeout: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.request_timeout = request_timeout

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            family = sock.family
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, sock.detach())
            sock.set_inheritable(True)
        return sock


def service_config(app: Any, options: ServerOptions) -> ServiceConfig:
    """The uvicorn config for ``app`` (an app, or the factory's import string)."""
    return ServiceConfig(
        app,
        factory=isinstance(app, str),
        host=options.host,
        port=options.port,
        workers=options.workers,
        loop="auto",  # uvloop where installed
        http=TimedHttpProtocol,
        request_timeout=options.request_timeout,
        limit_concurrency=options.max_connections,
        timeout_worker_healthcheck=options.worker_start_timeout,
        access_log=False,  # request paths hold the customers' links
        log_level="warning",
    )


def run(app: Any, options: ServerOptions) -> None:
    """Serve ``app`` in this process, or the factory in ``options.workers`` workers."""
    if options.workers == 1:
        uvicorn.Server(service_config(app, options)).run()
        return
    config = service_config(FACTORY, options)
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def main() -> None:
    """Entry point of ``python -m peakend.survey.server`` (settings from the environment)."""
    options = ServerOptions.from_env()
    run(FACTORY, options)


if __name__ == "__main__":
    main()
