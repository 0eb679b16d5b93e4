"""``GET /healthz`` every 50 ms from a process of its own, for ``detection_throughput``.

    python -m bench.health_probe http://127.0.0.1:8080 OUT_FILE

Appends one line per probe to ``OUT_FILE``, ``<start, time.monotonic()> <seconds>``, or
``<start> <seconds> error <type>`` for a probe that failed (refused, reset, a status
other than 200, no answer within 30 s; the connection is then opened again), until
its stdin closes. A file, not a pipe: nobody has to read it while the load runs.
Only the standard library and one keep-alive connection: the probe's own pauses (a
garbage collection over the benchmark's heap, the benchmark's event loop busy with 64
clients) must not be counted as the gateway's.
"""

from __future__ import annotations

import http.client
import sys
import threading
import time
from urllib.parse import urlsplit


def main() -> int:
    url = urlsplit(sys.argv[1])
    done = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        done.set()
    threading.Thread(target=wait_for_eof, daemon=True).start()

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    conn = connect()
    with open(sys.argv[2], "a", encoding="utf-8") as out:
        while not done.is_set():
            t0 = time.monotonic()
            try:
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                resp.read()
                failed = "" if resp.status == 200 else f" error status_{resp.status}"
            except (OSError, http.client.HTTPException) as exc:
                failed = f" error {type(exc).__name__}"
                conn.close()
                conn = connect()
            out.write(f"{t0:.6f} {time.monotonic() - t0:.6f}{failed}\n")
            out.flush()
            done.wait(0.05)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
