"""One module per figure of the issue; `SCENARIOS` in the order `compare` runs them.

Read-only scenarios come before those that change the big mailboxes (resync sets flags),
and the memory scenario, which restarts the server, comes last. imaptest's stress
(which adds and expunges mail in its own accounts) runs just before it.
"""

from __future__ import annotations

from bench.scenarios import (
    devices,
    ingest,
    lmtp,
    memory,
    ping,
    push,
    resync,
    search,
    stress,
    sync,
)
from bench.scenarios.base import Scenario

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        sync.SCENARIO,
        search.SCENARIO,
        resync.SCENARIO,
        devices.SCENARIO,
        push.SCENARIO,
        ping.SCENARIO,
        ingest.SCENARIO,
        lmtp.SCENARIO,
        stress.SCENARIO,
        memory.SCENARIO,
    )
}
