"""Exchange ActiveSync for email, on the HTTP layer and the same store as IMAP.

    endpoint.py   /Microsoft-Server-ActiveSync: authentication, the request line, the
                  policy key, dispatch (HANDLERS) and the mapping of bad input to statuses
    provision.py  Provision          folders.py  FolderSync
    sync.py       Sync (Email)       ping.py     Ping (push)
    itemops.py    ItemOperations Fetch
    sendmail.py   SendMail           search.py, find.py  Search, Find
    settings.py   Settings           moves.py, estimate.py, folder_changes.py
    state.py      policy, FolderSync and Sync keys, derived from the store's change log
    messages.py   ServerIds, and loading messages for roost.proto.eas.email
    context.py    what a handler is given

The WBXML codec, the request models and the email rendering are sans-IO, under
roost.proto.eas. Handlers reach the store only through roost.store.api and hear of
changes only through roost.notify.api.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from roost.auth.throttle import Throttle
from roost.config import Config
from roost.http.eas.context import Service
from roost.http.eas.endpoint import ENDPOINT, SERVICE, options, post
from roost.notify.api import Notifier
from roost.sessions import Sessions
from roost.store.api import Store

__all__ = ["ENDPOINT", "install"]


def install(
    app: web.Application,
    *,
    config: Config,
    store: Store,
    notifier: Notifier,
    sessions: Sessions,
    wake_queue: Callable[[], None],
    throttle: Throttle | None = None,
) -> None:
    """Adds the ActiveSync endpoint to app."""
    service = Service(
        config=config,
        store=store,
        notifier=notifier,
        sessions=sessions,
        wake_queue=wake_queue,
        throttle=throttle,
    )
    app[SERVICE] = service
    app.router.add_route("OPTIONS", ENDPOINT, options)
    app.router.add_post(ENDPOINT, post)

    async def stop_pings(_: web.Application) -> None:
        service.stopping.set()  # a Ping waiting answers at once, so shutdown is prompt

    app.on_shutdown.append(stop_pings)
