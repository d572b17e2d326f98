"""A TCP proxy that delays every byte by a fixed time each way: a database on another host.

``python -m bench.delay_proxy --listen PORT --target PORT --delay-ms 0.5``
forwards connections from ``127.0.0.1:LISTEN`` to ``127.0.0.1:TARGET`` and
holds each chunk of bytes for ``--delay-ms`` in each direction, so a query's
round trip gains twice that, as it would with the database one network hop
away. Order is kept per direction, and nothing is dropped or merged
differently from what TCP would do anyway.

Threads, not an event loop: the event loops' timers round to whole
milliseconds, and the delays that matter here are fractions of one. Each
direction of each connection has a reader thread (``recv`` → a queue, stamped
with when it is due) and a writer thread (``time.sleep`` until due, then
``sendall``). The ORM scenarios open at most a few dozen connections.

Prints ``ready`` when it listens; stops on SIGTERM or SIGINT.

Not here: starting it for a run (``services.start_delay_proxy``).
"""

from __future__ import annotations

import argparse
import contextlib
import queue
import signal
import socket
import threading
import time

__all__ = ["serve"]

_CHUNK = 65536


def _pump(source: socket.socket, sink: socket.socket, delay: float) -> None:
    """Copy ``source`` to ``sink``, each chunk ``delay`` seconds late; close both at the end."""
    due: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

    def write() -> None:
        try:
            while True:
                when, data = due.get()
                wait = when - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not data:
                    sink.shutdown(socket.SHUT_WR)
                    return
                sink.sendall(data)
        except OSError:
            return

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        while data := source.recv(_CHUNK):
            due.put((time.monotonic() + delay, data))
    except OSError:
        pass
    finally:
        due.put((time.monotonic() + delay, b""))
    writer.join()


def _connection(client: socket.socket, target: int, delay: float) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", target))
    except OSError:
        client.close()
        return
    for sock in (client, upstream):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    back = threading.Thread(target=_pump, args=(upstream, client, delay), daemon=True)
    back.start()
    _pump(client, upstream, delay)
    back.join()
    for sock in (client, upstream):
        with contextlib.suppress(OSError):
            sock.close()


def serve(listen: int, target: int, delay: float) -> None:
    """Accept on ``127.0.0.1:listen`` and forward to ``target`` with ``delay`` seconds each way."""
    server = socket.create_server(("127.0.0.1", listen), backlog=512)
    print("ready", flush=True)
    while True:
        client, _ = server.accept()
        threading.Thread(target=_connection, args=(client, target, delay), daemon=True).start()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--target", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, required=True, help="added each way")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.listen, args.target, args.delay_ms / 1000)


if __name__ == "__main__":
    main()
