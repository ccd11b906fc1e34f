"""Exchange ActiveSync, sans-IO: the WBXML codec and its code pages (wbxml, codepages),
and the typed requests and responses of each command (roost.proto.eas.commands)."""
