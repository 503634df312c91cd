"""Run an ASGI app (starlette) with uvicorn on 127.0.0.1, a free port, inside the test's event loop.

    server = await LoopbackServer.start(app)   # server.port, server.url("/path")
    await server.stop()                        # open requests get up to `grace` seconds, then are cancelled

uvicorn's own `serve()` polls for shutdown every 0.1 s and sleeps 0.1 s more while stopping; a fake server is
started and stopped in every test, so this drives uvicorn's startup directly and stops in milliseconds.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn


class LoopbackServer:
    def __init__(self, server: uvicorn.Server, grace: float) -> None:
        self._server = server
        self._grace = grace
        self.port: int = server.servers[0].sockets[0].getsockname()[1]

    @classmethod
    async def start(cls, app: Any, grace: float = 1.0) -> LoopbackServer:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup()
        return cls(server, grace)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def stop(self) -> None:
        state = self._server.server_state
        for listener in self._server.servers:
            listener.close()
        for connection in list(state.connections):
            connection.shutdown()  # idle keep-alive connections close now, busy ones after their response
        if state.tasks:
            _, late = await asyncio.wait(list(state.tasks), timeout=self._grace)
            for task in late:
                task.cancel()
        for listener in self._server.servers:
            await listener.wait_closed()
