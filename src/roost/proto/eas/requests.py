"""ActiveSync command requests ([MS-ASCMD] §2.2.1), parsed from their WBXML tree into
frozen dataclasses, one per command, so that a handler reads fields, never elements.

A request that is not the document its command expects raises ProtocolError; the endpoint
answers it with the command's "protocol error" status. Elements this server does not act
on (Conflict, FilterType, ConversationMode, ...) are ignored, as the protocol allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from roost.proto.eas.wbxml import Element
from roost.proto.errors import ProtocolError

__all__ = [
    "BodyPreference",
    "ClientAdd",
    "ClientChange",
    "ClientDelete",
    "ClientFetch",
    "EstimateCollection",
    "FetchItem",
    "FindRequest",
    "FolderChangeRequest",
    "FolderSyncRequest",
    "ItemOperationsRequest",
    "MoveRequest",
    "OofMessage",
    "OofSet",
    "PingFolder",
    "PingRequest",
    "ProvisionRequest",
    "SearchRequest",
    "SendMailRequest",
    "SettingsRequest",
    "SmartRequest",
    "SyncCollection",
    "SyncRequest",
    "parse_date",
    "parse_find",
    "parse_folder_change",
    "parse_folder_sync",
    "parse_get_item_estimate",
    "parse_item_operations",
    "parse_move_items",
    "parse_ping",
    "parse_provision",
    "parse_search",
    "parse_send_mail",
    "parse_settings",
    "parse_smart",
    "parse_sync",
]

AS = "AirSync"
ASB = "AirSyncBase"
EMAIL = "Email"
FH = "FolderHierarchy"
IO = "ItemOperations"
PING = "Ping"
PROV = "Provision"
SETTINGS = "Settings"


# --- shared pieces
@dataclass(frozen=True, slots=True, kw_only=True)
class BodyPreference:
    """[MS-ASAIRS] §2.2.2.12: the body type wanted (1 plain text, 2 HTML, 3 RTF, 4 MIME),
    truncated to truncation_size bytes (None: whole), and a preview of up to `preview`
    characters (0: none)."""

    type: int
    truncation_size: int | None = None
    all_or_none: bool = False
    preview: int = 0


def _root(document: Element, namespace: str, tag: str) -> Element:
    if document.namespace != namespace or document.tag != tag:
        raise ProtocolError(f"expected {namespace}:{tag}, got {document.namespace}:{document.tag}")
    return document


def _is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes "²", which int() refuses."""
    return text.isascii() and text.isdigit()


def _int(element: Element, *, low: int = 0, high: int = 0xFFFF_FFFF) -> int:
    text = element.text().strip()
    if not _is_number(text) or not low <= int(text) <= high:
        raise ProtocolError(f"{element.tag} must be a number from {low} to {high}")
    return int(text)


def _optional_int(parent: Element, namespace: str, tag: str, **limits: int) -> int | None:
    child = parent.find(namespace, tag)
    return None if child is None else _int(child, **limits)


def _required_text(parent: Element, namespace: str, tag: str) -> str:
    text = parent.child_text(namespace, tag)
    if text is None or not text:
        raise ProtocolError(f"{parent.tag} needs {tag}")
    return text


def _flag(parent: Element, namespace: str, tag: str, default: bool) -> bool:
    """A boolean element: "1"/"0", or present and empty meaning true."""
    child = parent.find(namespace, tag)
    if child is None:
        return default
    return child.text().strip() not in ("0", "false")


def _body_preferences(options: Element | None) -> tuple[BodyPreference, ...]:
    if options is None:
        return ()
    return tuple(
        BodyPreference(
            type=_int(_need(pref, ASB, "Type"), low=1, high=4),
            truncation_size=_optional_int(pref, ASB, "TruncationSize"),
            all_or_none=_flag(pref, ASB, "AllOrNone", False),
            preview=_optional_int(pref, ASB, "Preview", high=255) or 0,
        )
        for pref in options.iter(ASB, "BodyPreference")
    )


def _need(parent: Element, namespace: str, tag: str) -> Element:
    child = parent.find(namespace, tag)
    if child is None:
        raise ProtocolError(f"{parent.tag} needs {tag}")
    return child


# --- Provision ([MS-ASPROV] §3.1.5.1)
@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisionRequest:
    """The initial request (policy_key None) or the acknowledgement of a policy (its
    temporary key and the device's status: 1 applied, 2 partly, ...)."""

    policy_type: str | None
    policy_key: str | None = None
    status: int | None = None
    device_information: tuple[tuple[str, str], ...] = ()  # Settings:Set's (name, value)
    remote_wipe_status: int | None = None


def parse_provision(document: Element) -> ProvisionRequest:
    root = _root(document, PROV, "Provision")
    info: tuple[tuple[str, str], ...] = ()
    device = root.find(SETTINGS, "DeviceInformation")
    if device is not None and (fields := device.find(SETTINGS, "Set")) is not None:
        info = tuple((c.tag, c.text()) for c in fields.children)
    wipe = root.find(PROV, "RemoteWipe")
    wipe_status = None if wipe is None else _optional_int(wipe, PROV, "Status", high=255)
    policies = root.find(PROV, "Policies")
    policy = None if policies is None else policies.find(PROV, "Policy")
    if policy is None:
        return ProvisionRequest(
            policy_type=None, device_information=info, remote_wipe_status=wipe_status
        )
    return ProvisionRequest(
        policy_type=policy.child_text(PROV, "PolicyType"),
        policy_key=policy.child_text(PROV, "PolicyKey"),
        status=_optional_int(policy, PROV, "Status", high=255),
        device_information=info,
        remote_wipe_status=wipe_status,
    )


# --- FolderSync (§2.2.1.5)
@dataclass(frozen=True, slots=True, kw_only=True)
class FolderSyncRequest:
    sync_key: str


def parse_folder_sync(document: Element) -> FolderSyncRequest:
    root = _root(document, FH, "FolderSync")
    return FolderSyncRequest(sync_key=_required_text(root, FH, "SyncKey"))


# --- Sync (§2.2.1.21)
@dataclass(frozen=True, slots=True, kw_only=True)
class ClientChange:
    """A change of an email by the client: Read, and the follow-up flag's status
    ([MS-ASEMAIL] §2.2.2.27: 0 cleared, 1 complete, 2 active), each None if not sent."""

    server_id: str
    read: bool | None = None
    flag_status: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientAdd:
    """A draft the client made (16.x: Sync Add into Drafts), as the whole MIME message
    (a Body of Type 4); mime is None when the client sent the draft another way."""

    client_id: str
    mime: bytes | None
    read: bool = False
    flag_status: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientDelete:
    server_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientFetch:
    server_id: str


ClientCommand = ClientAdd | ClientChange | ClientDelete | ClientFetch


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncCollection:
    sync_key: str
    collection_id: str
    get_changes: bool = True
    window_size: int | None = None
    deletes_as_moves: bool = True  # §2.2.3.44: true when absent
    body_preferences: tuple[BodyPreference, ...] = ()
    mime_support: int = 0  # 0 never MIME, 1 S/MIME only, 2 always
    server_wins: bool = True  # §2.2.3.34 Conflict: 1 (the default) the server's version
    filter_type: int | None = None  # §2.2.3.68.2: how far back (None or 0: everything)
    commands: tuple[ClientCommand, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncRequest:
    """collections is empty for an empty Sync request (§2.2.3.x: "use the previous one")."""

    collections: tuple[SyncCollection, ...]
    window_size: int | None = None
    wait: int | None = None  # minutes
    heartbeat_interval: int | None = None  # seconds


def parse_sync(document: Element) -> SyncRequest:
    root = _root(document, AS, "Sync")
    container = root.find(AS, "Collections")
    collections = (
        () if container is None else tuple(_collection(c) for c in container.iter(AS, "Collection"))
    )
    return SyncRequest(
        collections=collections,
        window_size=_optional_int(root, AS, "WindowSize", low=1, high=512),
        wait=_optional_int(root, AS, "Wait"),  # the server checks the bounds (Status 14)
        heartbeat_interval=_optional_int(root, AS, "HeartbeatInterval"),
    )


def _collection(element: Element) -> SyncCollection:
    key = _required_text(element, AS, "SyncKey")
    options = element.find(AS, "Options")
    mime = None if options is None else _optional_int(options, AS, "MIMESupport", high=2)
    conflict = None if options is None else _optional_int(options, AS, "Conflict", high=2)
    filter_type = None if options is None else _optional_int(options, AS, "FilterType", high=8)
    commands = element.find(AS, "Commands")
    # §2.2.3.84: GetChanges is true when absent, except with SyncKey 0 (no changes then)
    get_changes = _flag(element, AS, "GetChanges", key != "0")
    return SyncCollection(
        sync_key=key,
        collection_id=_required_text(element, AS, "CollectionId"),
        get_changes=get_changes,
        window_size=_optional_int(element, AS, "WindowSize", low=0, high=512),
        deletes_as_moves=_flag(element, AS, "DeletesAsMoves", True),
        body_preferences=_body_preferences(options),
        mime_support=mime or 0,
        server_wins=conflict != 0,
        filter_type=filter_type,
        commands=() if commands is None else tuple(_command(c) for c in commands.children),
    )


def _command(element: Element) -> ClientCommand:
    if element.namespace != AS:
        raise ProtocolError(f"unexpected {element.tag} in Commands")
    if element.tag == "Add":
        return _add(element)
    server_id = _required_text(element, AS, "ServerId")
    if element.tag == "Delete":
        return ClientDelete(server_id=server_id)
    if element.tag == "Fetch":
        return ClientFetch(server_id=server_id)
    if element.tag == "Change":
        data = _need(element, AS, "ApplicationData")
        read = data.find(EMAIL, "Read")
        flag = data.find(EMAIL, "Flag")
        flag_status: int | None = None
        if flag is not None:  # an empty Flag clears it ([MS-ASEMAIL] §2.2.2.27)
            flag_status = _optional_int(flag, EMAIL, "Status", high=2) or 0
        return ClientChange(
            server_id=server_id,
            read=None if read is None else _int(read, high=1) == 1,
            flag_status=flag_status,
        )
    raise ProtocolError(f"Sync {element.tag} is not supported for email")


def _add(element: Element) -> ClientAdd:
    client_id = _required_text(element, AS, "ClientId")
    data = _need(element, AS, "ApplicationData")
    body = data.find(ASB, "Body")
    mime: bytes | None = None
    if body is not None and body.child_text(ASB, "Type") == "4":
        value = _need(body, ASB, "Data").value
        mime = value.encode("utf-8") if isinstance(value, str) else value
    read = data.find(EMAIL, "Read")
    flag = data.find(EMAIL, "Flag")
    return ClientAdd(
        client_id=client_id,
        mime=mime or None,
        read=read is not None and _int(read, high=1) == 1,
        flag_status=None if flag is None else _optional_int(flag, EMAIL, "Status", high=2) or 0,
    )


# --- Ping (§2.2.1.13)
@dataclass(frozen=True, slots=True, kw_only=True)
class PingFolder:
    id: str
    folder_class: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PingRequest:
    """An empty Ping (both None / empty) repeats the previous one (§2.2.1.13)."""

    heartbeat_interval: int | None
    folders: tuple[PingFolder, ...]


def parse_ping(document: Element) -> PingRequest:
    root = _root(document, PING, "Ping")
    container = root.find(PING, "Folders")
    folders = (
        ()
        if container is None
        else tuple(
            PingFolder(
                id=_required_text(f, PING, "Id"),
                folder_class=f.child_text(PING, "Class") or "Email",
            )
            for f in container.iter(PING, "Folder")
        )
    )
    heartbeat = root.find(PING, "HeartbeatInterval")
    return PingRequest(
        heartbeat_interval=None if heartbeat is None else _int(heartbeat),
        folders=folders,
    )


# --- ItemOperations (§2.2.1.10): Fetch
@dataclass(frozen=True, slots=True, kw_only=True)
class FetchItem:
    store: str
    collection_id: str | None = None
    server_id: str | None = None
    file_reference: str | None = None
    body_preferences: tuple[BodyPreference, ...] = ()
    mime_support: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemOperationsRequest:
    fetches: tuple[FetchItem, ...]


def parse_item_operations(document: Element) -> ItemOperationsRequest:
    root = _root(document, IO, "ItemOperations")
    fetches = []
    for operation in root.children:
        if operation.namespace != IO or operation.tag != "Fetch":
            raise ProtocolError(f"ItemOperations {operation.tag} is not supported")
        options = operation.find(IO, "Options")
        mime = None if options is None else _optional_int(options, AS, "MIMESupport", high=2)
        fetches.append(
            FetchItem(
                store=_required_text(operation, IO, "Store"),
                collection_id=operation.child_text(AS, "CollectionId"),
                # A Search result is fetched by its LongId (§2.2.3.96.2)
                server_id=operation.child_text(AS, "ServerId")
                or operation.child_text("Search", "LongId"),
                file_reference=operation.child_text(ASB, "FileReference"),
                body_preferences=_body_preferences(options),
                mime_support=mime or 0,
            )
        )
    return ItemOperationsRequest(fetches=tuple(fetches))


# --- GetItemEstimate (§2.2.1.9)
GIE = "GetItemEstimate"


@dataclass(frozen=True, slots=True, kw_only=True)
class EstimateCollection:
    sync_key: str
    collection_id: str


def parse_get_item_estimate(document: Element) -> tuple[EstimateCollection, ...]:
    root = _root(document, GIE, "GetItemEstimate")
    container = _need(root, GIE, "Collections")
    return tuple(
        EstimateCollection(
            # AirSync:SyncKey from 14.0 on ([MS-ASCMD] §2.2.3.166.3)
            sync_key=_required_text(c, AS, "SyncKey"),
            collection_id=_required_text(c, GIE, "CollectionId"),
        )
        for c in container.iter(GIE, "Collection")
    )


# --- MoveItems (§2.2.1.12)
MOVE = "Move"


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveRequest:
    source_item: str
    source_folder: str
    destination_folder: str


def parse_move_items(document: Element) -> tuple[MoveRequest, ...]:
    root = _root(document, MOVE, "MoveItems")
    return tuple(
        MoveRequest(
            source_item=_required_text(m, MOVE, "SrcMsgId"),
            source_folder=_required_text(m, MOVE, "SrcFldId"),
            destination_folder=_required_text(m, MOVE, "DstFldId"),
        )
        for m in root.iter(MOVE, "Move")
    )


# --- FolderCreate, FolderUpdate, FolderDelete (§2.2.1.3, §2.2.1.6, §2.2.1.4)
@dataclass(frozen=True, slots=True, kw_only=True)
class FolderChangeRequest:
    """One of the three: create (server_id None), update (display_name set), delete."""

    command: str  # "FolderCreate", "FolderUpdate" or "FolderDelete"
    sync_key: str
    server_id: str | None = None
    parent_id: str | None = None
    display_name: str | None = None
    folder_type: int | None = None


def parse_folder_change(document: Element) -> FolderChangeRequest:
    if document.namespace != FH or document.tag not in (
        "FolderCreate",
        "FolderUpdate",
        "FolderDelete",
    ):
        raise ProtocolError(f"expected a folder command, got {document.tag}")
    command = document.tag
    request = FolderChangeRequest(
        command=command,
        sync_key=_required_text(document, FH, "SyncKey"),
        server_id=None if command == "FolderCreate" else _required_text(document, FH, "ServerId"),
        parent_id=document.child_text(FH, "ParentId"),
        display_name=document.child_text(FH, "DisplayName"),
        folder_type=_optional_int(document, FH, "Type", high=19),
    )
    if command != "FolderDelete" and not request.display_name:
        raise ProtocolError(f"{command} needs DisplayName")
    if command != "FolderDelete" and request.parent_id is None:
        raise ProtocolError(f"{command} needs ParentId")
    return request


# --- Search (§2.2.1.16): the Mailbox store
SEARCH = "Search"


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchRequest:
    store: str  # "Mailbox" (or "GAL", "DocumentLibrary": not served)
    free_text: str | None = None
    collection_ids: tuple[str, ...] = ()  # none: the whole mailbox
    received_after: datetime | None = None  # GreaterThan email:DateReceived
    received_before: datetime | None = None  # LessThan email:DateReceived
    first: int = 0  # Range "first-last", inclusive
    last: int = 99
    deep_traversal: bool = False
    body_preferences: tuple[BodyPreference, ...] = ()


def parse_search(document: Element) -> SearchRequest:
    root = _root(document, SEARCH, "Search")
    store = _need(root, SEARCH, "Store")
    query = _need(store, SEARCH, "Query")
    conditions = query.children
    if len(conditions) == 1 and conditions[0].tag == "And":
        conditions = conditions[0].children
    free_text, ids = None, []
    after = before = None
    for condition in conditions:
        match (condition.namespace, condition.tag):
            case ("AirSync", "Class"):
                if condition.text() != "Email":
                    raise ProtocolError(f"Search of class {condition.text()} is not served")
            case ("AirSync", "CollectionId"):
                ids.append(condition.text())
            case ("Search", "FreeText"):
                free_text = condition.text()
            case ("Search", "GreaterThan"):
                after = _date_condition(condition)
            case ("Search", "LessThan"):
                before = _date_condition(condition)
            case _:
                raise ProtocolError(f"Search condition {condition.tag} is not served")
    options = store.find(SEARCH, "Options")
    first, last = _range(None if options is None else options.child_text(SEARCH, "Range"))
    return SearchRequest(
        store=_required_text(store, SEARCH, "Name"),
        free_text=free_text,
        collection_ids=tuple(ids),
        received_after=after,
        received_before=before,
        first=first,
        last=last,
        deep_traversal=options is not None and options.find(SEARCH, "DeepTraversal") is not None,
        body_preferences=_body_preferences(options),
    )


def _date_condition(condition: Element) -> datetime:
    if condition.find(EMAIL, "DateReceived") is None:
        raise ProtocolError(f"{condition.tag} compares only email:DateReceived")
    return parse_date(_required_text(condition, SEARCH, "Value"))


def parse_date(text: str) -> datetime:
    """[MS-ASDTYPE] §2.3: 2009-11-12T00:45:06.000Z (UTC)."""
    try:
        moment = datetime.strptime(text.strip(), "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        raise ProtocolError(f"not a date: {text!r}") from None
    return moment.replace(tzinfo=UTC)


def _range(text: str | None) -> tuple[int, int]:
    if text is None:
        return 0, 99
    first, dash, last = text.partition("-")
    if not (dash and _is_number(first) and _is_number(last)) or int(first) > int(last):
        raise ProtocolError(f"Range must be first-last, not {text!r}")
    return int(first), min(int(last), int(first) + 999)


# --- Settings (§2.2.1.18)
OOF_AUDIENCES = ("AppliesToInternal", "AppliesToExternalKnown", "AppliesToExternalUnknown")


@dataclass(frozen=True, slots=True, kw_only=True)
class OofMessage:
    """§2.2.3.118 OofMessage: the reply one audience gets."""

    audience: str  # one of OOF_AUDIENCES
    enabled: bool
    reply: str | None = None
    body_type: str | None = None  # "Text" or "HTML" as the device spelled it


@dataclass(frozen=True, slots=True, kw_only=True)
class OofSet:
    """§2.2.3.119 Oof Set: state 0 off, 1 on, 2 on between start and end."""

    state: int | None
    start: datetime | None = None
    end: datetime | None = None
    messages: tuple[OofMessage, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsRequest:
    """The parts of a Settings request, each None/False when absent."""

    device_information: tuple[tuple[str, str], ...] | None = None  # DeviceInformation Set
    user_information: bool = False  # UserInformation Get
    oof_get: str | None = None  # Oof Get: the BodyType asked for ("Text", "HTML"; "" none)
    oof_set: OofSet | None = None  # Oof Set: out of office
    device_password: bool = False  # DevicePassword Set
    rights_management: bool = False  # RightsManagementInformation Get


def parse_settings(document: Element) -> SettingsRequest:
    root = _root(document, SETTINGS, "Settings")
    device = root.find(SETTINGS, "DeviceInformation")
    info = None
    if device is not None:
        fields = _need(device, SETTINGS, "Set")
        info = tuple((c.tag, c.text()) for c in fields.children)
    user = root.find(SETTINGS, "UserInformation")
    if user is not None and user.find(SETTINGS, "Get") is None:
        raise ProtocolError("UserInformation needs Get")
    oof = root.find(SETTINGS, "Oof")
    oof_get = oof_set = None
    if oof is not None:
        if (get := oof.find(SETTINGS, "Get")) is not None:
            oof_get = get.child_text(SETTINGS, "BodyType") or ""
        elif (set_ := oof.find(SETTINGS, "Set")) is not None:
            oof_set = _oof_set(set_)
        else:
            raise ProtocolError("Oof needs Get or Set")
    return SettingsRequest(
        device_information=info,
        user_information=user is not None,
        oof_get=oof_get,
        oof_set=oof_set,
        device_password=root.find(SETTINGS, "DevicePassword") is not None,
        rights_management=root.find(SETTINGS, "RightsManagementInformation") is not None,
    )


def _oof_set(element: Element) -> OofSet:
    start = element.child_text(SETTINGS, "StartTime")
    end = element.child_text(SETTINGS, "EndTime")
    messages = []
    for message in element.iter(SETTINGS, "OofMessage"):
        audiences = [a for a in OOF_AUDIENCES if message.find(SETTINGS, a) is not None]
        if len(audiences) != 1:
            raise ProtocolError("an OofMessage applies to one audience")
        messages.append(
            OofMessage(
                audience=audiences[0],
                enabled=_optional_int(message, SETTINGS, "Enabled", high=1) == 1,
                reply=message.child_text(SETTINGS, "ReplyMessage"),
                body_type=message.child_text(SETTINGS, "BodyType"),
            )
        )
    return OofSet(
        state=_optional_int(element, SETTINGS, "OofState", high=2),
        start=None if start is None else parse_date(start),
        end=None if end is None else parse_date(end),
        messages=tuple(messages),
    )


# --- Find (§2.2.1.2, 16.1): the mailbox by free text
FIND = "Find"


@dataclass(frozen=True, slots=True, kw_only=True)
class FindRequest:
    search_id: str
    free_text: str | None  # None: a GAL search, not served
    collection_id: str | None = None
    first: int = 0
    last: int = 99
    deep_traversal: bool = False


def parse_find(document: Element) -> FindRequest:
    root = _root(document, FIND, "Find")
    search_id = _required_text(root, FIND, "SearchId")
    execute = _need(root, FIND, "ExecuteSearch")
    mailbox = execute.find(FIND, "MailBoxSearchCriterion")
    if mailbox is None:
        if execute.find(FIND, "GalSearchCriterion") is None:
            raise ProtocolError("ExecuteSearch needs a search criterion")
        return FindRequest(search_id=search_id, free_text=None)
    query = _need(mailbox, FIND, "Query")
    item_class = query.child_text(AS, "Class")
    if item_class not in (None, "Email"):
        raise ProtocolError(f"Find of class {item_class} is not served")
    options = mailbox.find(FIND, "Options")
    first, last = _range(None if options is None else options.child_text(FIND, "Range"))
    return FindRequest(
        search_id=search_id,
        free_text=_required_text(query, FIND, "FreeText"),
        collection_id=query.child_text(AS, "CollectionId"),
        first=first,
        last=last,
        deep_traversal=options is not None and options.find(FIND, "DeepTraversal") is not None,
    )


# --- SendMail (§2.2.1.17, 14.0 and later: a ComposeMail document)
COMPOSE = "ComposeMail"


@dataclass(frozen=True, slots=True, kw_only=True)
class SendMailRequest:
    client_id: str
    mime: bytes
    save_in_sent: bool


def parse_send_mail(document: Element) -> SendMailRequest:
    root = _root(document, COMPOSE, "SendMail")
    client_id = _required_text(root, COMPOSE, "ClientId")
    if len(client_id) > 40:  # §2.2.3.27.1: at most 40 characters
        raise ProtocolError("ClientId is longer than 40 characters")
    mime = _need(root, COMPOSE, "Mime").value
    if not mime:
        raise ProtocolError("SendMail needs the message in Mime")
    return SendMailRequest(
        client_id=client_id,
        mime=mime if isinstance(mime, bytes) else mime.encode("utf-8"),
        save_in_sent=root.find(COMPOSE, "SaveInSentItems") is not None,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SmartRequest:
    """SmartReply or SmartForward: the device's own MIME and the original it answers."""

    forward: bool
    client_id: str
    mime: bytes
    save_in_sent: bool
    source_folder: str | None
    source_item: str  # its ItemId, or the LongId of a Search result
    replace_mime: bool  # the device sent the whole message: add nothing


def parse_smart(document: Element) -> SmartRequest:
    if document.namespace != COMPOSE or document.tag not in ("SmartReply", "SmartForward"):
        raise ProtocolError(f"expected SmartReply or SmartForward, got {document.tag}")
    plain = parse_send_mail(Element(COMPOSE, "SendMail", document.children))
    source = _need(document, COMPOSE, "Source")
    item = source.child_text(COMPOSE, "ItemId") or source.child_text(COMPOSE, "LongId")
    if not item:
        raise ProtocolError("Source needs ItemId or LongId")
    return SmartRequest(
        forward=document.tag == "SmartForward",
        client_id=plain.client_id,
        mime=plain.mime,
        save_in_sent=plain.save_in_sent,
        source_folder=source.child_text(COMPOSE, "FolderId"),
        source_item=item,
        replace_mime=document.find(COMPOSE, "ReplaceMime") is not None,
    )
