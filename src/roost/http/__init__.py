"""One HTTP layer (aiohttp) for everything Roost serves over HTTP: client autoconfiguration,
Prometheus metrics, the local control channel, and later ActiveSync and JMAP."""
