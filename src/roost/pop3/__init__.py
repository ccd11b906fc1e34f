"""The POP3 server: server.py (the only socket code), session.py (states and the command
table), authorization.py and transaction.py (the commands of each state), maildrop.py (the
INBOX snapshot a session works on)."""
