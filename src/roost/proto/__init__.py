"""Sans-IO protocol codecs: bytes in, typed events out; typed responses in, bytes out.

Nothing here awaits, touches a socket or the store, or imports Roost outside roost.proto.
"""
