"""The WBXML code pages of Exchange ActiveSync ([MS-ASWBXML] §2.1.2.1) that email needs.

Each code page is one XML namespace; a tag is a token (0x05..0x3F) within its page. The
tables list the tags of protocol versions 14.0 to 16.1 for the pages an email client and
server exchange: AirSync (0), Email (2), Move (5), GetItemEstimate (6), FolderHierarchy
(7), Tasks (9: the follow-up dates inside an email Flag), Ping (13), Provision (14),
Search (15), AirSyncBase (17), Settings (18), ItemOperations (20), ComposeMail (21),
Email2 (22) and Find (25). Tags of pages for contacts, calendar, notes and documents are not listed:
a document that uses them is refused as an unknown code page or token.

A gap in a page (a token listed for no version we speak, such as AirSync 0x11 or
FolderHierarchy 0x0B) is deliberately absent: the decoder refuses it. The tests check the
tokens against published copies of the tables (tests/proto/eas/test_wbxml.py); Tasks,
Search and the tags 16.x added at the ends of pages are not checked there yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PAGES", "PAGES_BY_NAME", "CodePage"]


@dataclass(frozen=True, slots=True)
class CodePage:
    number: int
    namespace: str
    tags: dict[int, str]  # token -> tag name
    tokens: dict[str, int] = field(init=False)  # tag name -> token

    def __post_init__(self) -> None:
        tokens = {name: token for token, name in self.tags.items()}
        assert len(tokens) == len(self.tags), f"duplicate tag name in {self.namespace}"
        assert all(0x05 <= t <= 0x3F for t in self.tags), f"token out of range in {self.namespace}"
        object.__setattr__(self, "tokens", tokens)


def _page(number: int, namespace: str, first: int, names: str, **extra: int) -> CodePage:
    """A page whose tags run from `first` upwards in the order of `names` (space-separated,
    "-" for a token that is not used), plus `extra` tags at explicit tokens."""
    tags: dict[int, str] = {}
    for offset, name in enumerate(names.split()):
        if name != "-":
            tags[first + offset] = name
    for name, token in extra.items():
        tags[token] = name
    return CodePage(number, namespace, tags)


# [MS-ASWBXML] §2.1.2.1.1 Code Page 0: AirSync
AIRSYNC = _page(
    0,
    "AirSync",
    0x05,
    "Sync Responses Add Change Delete Fetch SyncKey ClientId ServerId Status Collection Class"
    " - CollectionId GetChanges MoreAvailable WindowSize Commands Options FilterType - -"
    " Conflict Collections ApplicationData DeletesAsMoves - Supported SoftDelete MIMESupport"
    " MIMETruncation Wait Limit Partial ConversationMode MaxItems HeartbeatInterval",
)

# §2.1.2.1.3 Code Page 2: Email (0x05-0x0E are the 2.5 attachment and body tags)
EMAIL = _page(
    2,
    "Email",
    0x05,
    "Attachment Attachments AttName AttSize Att0Id AttMethod AttRemoved Body BodySize"
    " BodyTruncated DateReceived DisplayName DisplayTo Importance MessageClass Subject Read"
    " To Cc From ReplyTo AllDayEvent Categories Category DtStamp EndTime InstanceType"
    " BusyStatus Location MeetingRequest Organizer RecurrenceId Reminder ResponseRequested"
    " Recurrences Recurrence Type Until Occurrences Interval DayOfWeek DayOfMonth WeekOfMonth"
    " MonthOfYear StartTime Sensitivity TimeZone GlobalObjId ThreadTopic MIMEData"
    " MIMETruncated MIMESize InternetCPID Flag Status ContentClass FlagType CompleteTime"
    " DisallowNewTimeProposal",
)

# §2.1.2.1.6 Code Page 5: Move
MOVE = _page(5, "Move", 0x05, "MoveItems Move SrcMsgId SrcFldId DstFldId Response Status DstMsgId")

# §2.1.2.1.7 Code Page 6: GetItemEstimate
GET_ITEM_ESTIMATE = _page(
    6,
    "GetItemEstimate",
    0x05,
    "GetItemEstimate Version Collections Collection Class CollectionId DateTime Estimate"
    " Response Status",
)

# §2.1.2.1.8 Code Page 7: FolderHierarchy
FOLDER_HIERARCHY = _page(
    7,
    "FolderHierarchy",
    0x07,
    "DisplayName ServerId ParentId Type - Status - Changes Add Delete Update SyncKey"
    " FolderCreate FolderDelete FolderUpdate FolderSync Count",
)

# §2.1.2.1.10 Code Page 9: Tasks (an email Flag carries tasks:StartDate, DueDate, ...)
TASKS = _page(
    9,
    "Tasks",
    0x08,
    "Categories Category Complete DateCompleted DueDate UtcDueDate Importance Recurrence"
    " Type Start Until Occurrences Interval DayOfMonth DayOfWeek WeekOfMonth MonthOfYear"
    " Regenerate DeadOccur ReminderSet ReminderTime Sensitivity StartDate UtcStartDate"
    " Subject - OrdinalDate SubOrdinalDate CalendarType IsLeapMonth FirstDayOfWeek",
)

# §2.1.2.1.14 Code Page 13: Ping
PING = _page(
    13,
    "Ping",
    0x05,
    "Ping AutdState Status HeartbeatInterval Folders Folder Id Class MaxFolders",
)

# §2.1.2.1.15 Code Page 14: Provision
PROVISION = _page(
    14,
    "Provision",
    0x05,
    "Provision Policies Policy PolicyType PolicyKey Data Status RemoteWipe EASProvisionDoc"
    " DevicePasswordEnabled AlphanumericDevicePasswordRequired RequireStorageCardEncryption"
    " PasswordRecoveryEnabled - AttachmentsEnabled MinDevicePasswordLength"
    " MaxInactivityTimeDeviceLock MaxDevicePasswordFailedAttempts MaxAttachmentSize"
    " AllowSimpleDevicePassword DevicePasswordExpiration DevicePasswordHistory"
    " AllowStorageCard AllowCamera RequireDeviceEncryption AllowUnsignedApplications"
    " AllowUnsignedInstallationPackages MinDevicePasswordComplexCharacters AllowWiFi"
    " AllowTextMessaging AllowPOPIMAPEmail AllowBluetooth AllowIrDA"
    " RequireManualSyncWhenRoaming AllowDesktopSync MaxCalendarAgeFilter AllowHTMLEmail"
    " MaxEmailAgeFilter MaxEmailBodyTruncationSize MaxEmailHTMLBodyTruncationSize"
    " RequireSignedSMIMEMessages RequireEncryptedSMIMEMessages RequireSignedSMIMEAlgorithm"
    " RequireEncryptionSMIMEAlgorithm AllowSMIMEEncryptionAlgorithmNegotiation"
    " AllowSMIMESoftCerts AllowBrowser AllowConsumerEmail AllowRemoteDesktop"
    " AllowInternetSharing UnapprovedInROMApplicationList ApplicationName"
    " ApprovedApplicationList Hash AccountOnlyRemoteWipe",
)

# §2.1.2.1.16 Code Page 15: Search
SEARCH = _page(
    15,
    "Search",
    0x05,
    "Search - Store Name Query Options Range Status Response Result Properties Total EqualTo"
    " Value And Or FreeText - DeepTraversal LongId RebuildResults LessThan GreaterThan - -"
    " UserName Password ConversationId Picture MaxSize MaxPictures",
)

# §2.1.2.1.18 Code Page 17: AirSyncBase
AIRSYNCBASE = _page(
    17,
    "AirSyncBase",
    0x05,
    "BodyPreference Type TruncationSize AllOrNone - Body Data EstimatedDataSize Truncated"
    " Attachments Attachment DisplayName FileReference Method ContentId ContentLocation"
    " IsInline NativeBodyType ContentType Preview BodyPartPreference BodyPart Status Add"
    " Delete ClientId Content Location Annotation Street City State Country PostalCode"
    " Latitude Longitude Accuracy Altitude AltitudeAccuracy LocationUri InstanceId",
)

# §2.1.2.1.19 Code Page 18: Settings
SETTINGS = _page(
    18,
    "Settings",
    0x05,
    "Settings Status Get Set Oof OofState StartTime EndTime OofMessage AppliesToInternal"
    " AppliesToExternalKnown AppliesToExternalUnknown Enabled ReplyMessage BodyType"
    " DevicePassword Password DeviceInformation Model IMEI FriendlyName OS OSLanguage"
    " PhoneNumber UserInformation EmailAddresses SMTPAddress UserAgent EnableOutboundSMS"
    " MobileOperator PrimarySmtpAddress Accounts Account AccountId AccountName"
    " UserDisplayName SendDisabled - RightsManagementInformation",
)

# §2.1.2.1.21 Code Page 20: ItemOperations
ITEM_OPERATIONS = _page(
    20,
    "ItemOperations",
    0x05,
    "ItemOperations Fetch Store Options Range Total Properties Data Status Response Version"
    " Schema Part EmptyFolderContents DeleteSubFolders UserName Password Move DstFldId"
    " ConversationId MoveAlways",
)

# §2.1.2.1.22 Code Page 21: ComposeMail
COMPOSE_MAIL = _page(
    21,
    "ComposeMail",
    0x05,
    "SendMail SmartForward SmartReply SaveInSentItems ReplaceMime - Source FolderId ItemId"
    " LongId InstanceId Mime ClientId Status AccountId - Forwardees Forwardee ForwardeeName"
    " ForwardeeEmail",
)

# §2.1.2.1.23 Code Page 22: Email2
EMAIL2 = _page(
    22,
    "Email2",
    0x05,
    "UmCallerID UmUserNotes UmAttDuration UmAttOrder ConversationId ConversationIndex"
    " LastVerbExecuted LastVerbExecutionTime ReceivedAsBcc Sender CalendarType IsLeapMonth"
    " AccountId FirstDayOfWeek MeetingMessageType - IsDraft Bcc Send",
)

# §2.1.2.1.26 Code Page 25: Find (16.1)
FIND = _page(
    25,
    "Find",
    0x05,
    "Find SearchId ExecuteSearch MailBoxSearchCriterion Query Status FreeText Options Range"
    " DeepTraversal - - Response Result Properties Preview HasAttachments Total DisplayCc"
    " DisplayBcc GalSearchCriterion - - - - - - MaxPictures MaxSize Picture",
)

PAGES: dict[int, CodePage] = {
    page.number: page
    for page in (
        AIRSYNC,
        EMAIL,
        MOVE,
        GET_ITEM_ESTIMATE,
        FOLDER_HIERARCHY,
        TASKS,
        PING,
        PROVISION,
        SEARCH,
        AIRSYNCBASE,
        SETTINGS,
        ITEM_OPERATIONS,
        COMPOSE_MAIL,
        EMAIL2,
        FIND,
    )
}
PAGES_BY_NAME: dict[str, CodePage] = {page.namespace: page for page in PAGES.values()}
