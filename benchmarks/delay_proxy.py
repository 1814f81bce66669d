"""A TCP proxy on 127.0.0.1 that makes a local PostgreSQL look far away.

    proxy = DelayProxy(rtt_ms=30).start()   # a thread with its own asyncio loop
    url = f"postgresql://postgres@127.0.0.1:{proxy.port}/db"
    ...
    proxy.stop()

Every chunk of bytes is held RTT/2 before it is passed on, in each direction, in
order (a link with that latency and no bandwidth limit). It also counts what crosses
it: ``round_trips`` is the number of times a client sent something after the server
had last spoken on that connection (a request the client then waits for), and
``connections`` the connections opened. Loopback only: it connects to 127.0.0.1:5432
(or the ``upstream`` given) and listens on 127.0.0.1.

Run alone it forwards until Ctrl+C, e.g. to try the window by hand:

    python benchmarks/delay_proxy.py --rtt 100 --port 6543
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from dataclasses import dataclass


@dataclass
class _Link:
    """One client connection: who spoke last (a new client request after the server
    answered is one round trip)."""

    server_spoke: bool = True


class DelayProxy:
    def __init__(
        self,
        rtt_ms: float,
        *,
        upstream: tuple[str, int] = ("127.0.0.1", 5432),
        port: int = 0,
    ) -> None:
        self.delay = rtt_ms / 2000.0
        self.upstream = upstream
        self.port = port
        self.round_trips = 0
        self.connections = 0
        self.requests: list[bytes] | None = None  # a list: keep each request's first bytes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    def set_rtt(self, rtt_ms: float) -> None:
        """Change the delay for chunks read from now on."""
        self.delay = rtt_ms / 2000.0

    def reset_counts(self) -> None:
        self.round_trips = 0
        self.connections = 0

    # -- running ----------------------------------------------------------------------

    def start(self) -> DelayProxy:
        self._thread = threading.Thread(target=self._run, name="delay-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the delay proxy did not start")
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket, then end the thread."""
        if self._loop is not None and self._loop.is_running():
            done = asyncio.run_coroutine_threadsafe(self._shut_down(), self._loop)
            done.result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    async def _shut_down(self) -> None:
        if self._server is not None:
            self._server.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            server_in, server_out = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_out.close()
            return
        self.connections += 1
        link = _Link()
        try:
            await asyncio.gather(
                self._pipe(client_in, server_out, link, from_client=True),
                self._pipe(server_in, client_out, link, from_client=False),
            )
        except asyncio.CancelledError:
            pass  # the proxy stops: end quietly (asyncio reports a cancelled handler)
        finally:
            for writer in (client_out, server_out):
                writer.close()

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        link: _Link,
        *,
        from_client: bool,
    ) -> None:
        """Read chunks as they come; a second task writes each one RTT/2 later, in order."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        writer = asyncio.ensure_future(self._deliver(queue, sink))
        try:
            while chunk := await source.read(65536):
                if from_client and link.server_spoke:
                    self.round_trips += 1
                    if self.requests is not None:
                        self.requests.append(chunk[:120])
                link.server_spoke = not from_client
                queue.put_nowait((time.monotonic() + self.delay, chunk))
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            writer.cancel()
            raise
        queue.put_nowait((0.0, b""))  # end of stream once the rest is delivered
        await writer

    @staticmethod
    async def _deliver(
        queue: asyncio.Queue[tuple[float, bytes]], sink: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                due, chunk = await queue.get()
                if not chunk:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                sink.write(chunk)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        sink.close()


def main() -> int:
    parser = argparse.ArgumentParser(description="Forward 127.0.0.1:PORT to PostgreSQL, slowly.")
    parser.add_argument("--rtt", type=float, default=30.0, help="round-trip time to add, ms")
    parser.add_argument("--port", type=int, default=6543)
    args = parser.parse_args()
    proxy = DelayProxy(args.rtt, port=args.port).start()
    print(f"127.0.0.1:{proxy.port} -> 127.0.0.1:5432 with {args.rtt:g} ms round-trip time")
    try:
        while True:
            time.sleep(5)
            print(f"{proxy.round_trips} round trips, {proxy.connections} connections")
    except KeyboardInterrupt:
        proxy.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
