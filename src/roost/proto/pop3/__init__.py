"""POP3 (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH), sans-IO: `commands` reads
and writes command lines, `receiver` frames client input into commands, `responses`
renders replies and messages (CRLF line ends, dot-stuffing)."""
