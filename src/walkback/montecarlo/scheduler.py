"""Running blocks on a Dask cluster, with connect and answer timeouts.

Dask's client waits without limit for the scheduler's handshake once a TCP connection is open, so an
address that accepts connections but never answers (or answers as an HTTP server) would hang the
run. Before handing the address to Dask, a plain TCP check connects and waits for the scheduler's
first message (a Dask scheduler speaks first); the client itself is then started under a deadline.
Either failure is one line that names the address.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import urlsplit

from walkback.exceptions import WalkbackError

__all__ = ["TIMEOUT", "SchedulerError", "check_address", "dask_results", "probe"]

#: seconds allowed to connect to a scheduler and to get its first answer (Dask's default is 30)
TIMEOUT = 10.0


class SchedulerError(WalkbackError):
    """The --scheduler address is empty, unreachable or not a Dask scheduler."""


_HINT = "check the address (e.g. tcp://host:8786) and that a Dask scheduler is running there"


def check_address(address: str) -> str:
    """The address stripped; an empty one is an error (it would silently run locally)."""
    text = address.strip()
    if not text:
        raise SchedulerError(
            "--scheduler is empty; give the Dask scheduler's address (e.g. tcp://host:8786), "
            "or leave the option out to run on this machine"
        )
    return text


def _host_port(address: str) -> tuple[str, int] | None:
    """(host, port) of a tcp:// or bare host:port address; None for other protocols."""
    url = urlsplit(address if "://" in address else f"tcp://{address}")
    if url.scheme != "tcp":
        return None
    try:
        port = url.port
    except ValueError:
        raise SchedulerError(f"--scheduler {address}: the port is not a number; {_HINT}") from None
    if not url.hostname or port is None:
        raise SchedulerError(f"--scheduler {address}: expected HOST:PORT; {_HINT}")
    return url.hostname, port


def probe(address: str, timeout: float = TIMEOUT) -> None:
    """Connect to a tcp scheduler address and wait for its first Dask message, each within
    ``timeout`` seconds; raise :class:`SchedulerError` naming the address otherwise."""
    hp = _host_port(address)
    if hp is None:  # tls://, ucx://...: the client's own deadline applies
        return
    try:
        sock = socket.create_connection(hp, timeout=timeout)
    except TimeoutError:
        raise SchedulerError(
            f"--scheduler {address}: no connection within {timeout:g} s; {_HINT}"
        ) from None
    except OSError as exc:
        raise SchedulerError(
            f"--scheduler {address}: cannot connect ({exc.strerror or exc}); {_HINT}"
        ) from None
    with sock:
        try:
            head = b""
            while len(head) < 8:
                got = sock.recv(8 - len(head))
                if not got:
                    break
                head += got
        except TimeoutError:
            raise SchedulerError(
                f"--scheduler {address}: connected, but no answer within {timeout:g} s: not a "
                f"Dask scheduler, or a hung one; {_HINT}"
            ) from None
        except OSError as exc:
            raise SchedulerError(
                f"--scheduler {address}: the connection failed ({exc.strerror or exc}); {_HINT}"
            ) from None
    # a Dask message starts with its frame count, a little-endian 64-bit integer
    if len(head) < 8 or not 0 < struct.unpack("<Q", head)[0] < 1000:
        shown = head[:8].decode("ascii", "replace").strip() or "nothing"
        raise SchedulerError(
            f"--scheduler {address}: the server there does not speak Dask's protocol (it sent "
            f"{shown!r}); {_HINT}"
        )


def _client(address: str, timeout: float):
    """A distributed.Client, started under a deadline (its handshake has none)."""
    try:
        from distributed import Client
    except ImportError:
        raise WalkbackError("--scheduler needs Dask: pip install 'walkback[distributed]'") from None
    box: dict = {}

    def start() -> None:
        try:
            box["client"] = Client(address, timeout=timeout)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    t = threading.Thread(target=start, name="walkback-dask-connect", daemon=True)
    t.start()
    t.join(timeout + 5)
    if t.is_alive():
        raise SchedulerError(f"--scheduler {address}: no answer within {timeout + 5:g} s; {_HINT}")
    if "error" in box:
        exc = box["error"]
        if isinstance(exc, (OSError, TimeoutError)):
            msg = f"--scheduler {address}: cannot connect ({exc}); {_HINT}"
            raise SchedulerError(msg) from None
        raise exc
    return box["client"]


def dask_results(
    address: str, run_block: Callable, settings, jobs: Iterable[tuple[int, int]]
) -> Iterator:
    """Run ``run_block(settings, first, count)`` for each job on the cluster at ``address``;
    yield the tables in job order."""
    import dask
    from dask.utils import parse_timedelta

    address = check_address(address)
    timeout = min(
        TIMEOUT, parse_timedelta(dask.config.get("distributed.comm.timeouts.connect", "30s"))
    )
    probe(address, timeout)
    client = _client(address, timeout)
    with client:
        futures = [client.submit(run_block, settings, f, c, pure=False) for f, c in jobs]
        for fut in futures:  # in block order, so outputs are written in replicate order
            yield fut.result()
