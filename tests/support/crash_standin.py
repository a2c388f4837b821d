"""A rudder-server stand-in for the crash-guard tests (run as a process, stdlib only).

It appends the ``RSERVER_*`` part of its environment, as one JSON line, to ``$STANDIN_RECORD``, then
does what the first word of ``$STANDIN_CONTROL`` (a file) says:

- ``crash``: exit 2 at once (what a Go panic exits with);
- ``crash-unless-gateway-only``: a processor bug, so exit 2 unless the processor and router are off,
  else keep running like ``run``;
- ``exit0``: exit 0 (a clean shutdown nobody asked for);
- ``run``: keep serving until SIGTERM, then exit 143 like a container stopped by ``docker stop``.

Once it serves (its SIGTERM handler installed), it creates the file ``$STANDIN_SERVING`` names, if
any: a supervisor can then tell "it keeps running" from "it has not crashed yet" by a state, never by
how long it has been up.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path


def main() -> int:
    rserver = {k: v for k, v in os.environ.items() if k.startswith("RSERVER_")}
    with open(os.environ["STANDIN_RECORD"], "a", encoding="utf-8") as record:
        record.write(json.dumps(rserver, sort_keys=True) + "\n")
    behaviour = Path(os.environ["STANDIN_CONTROL"]).read_text(encoding="utf-8").split()[0]
    gateway_only = (
        rserver.get("RSERVER_ENABLE_PROCESSOR") == "false" and rserver.get("RSERVER_ENABLE_ROUTER") == "false"
    )
    if behaviour == "crash" or (behaviour == "crash-unless-gateway-only" and not gateway_only):
        return 2
    if behaviour == "exit0":
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if os.environ.get("STANDIN_SERVING"):
        Path(os.environ["STANDIN_SERVING"]).touch()
    while True:
        time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main())
