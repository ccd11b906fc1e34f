"""The mail semantics, written once for every engine: units of work over a Tx
(roost.store.engines.api) and MailStore (store.py), which runs them and publishes what
they changed. One module per concept; store.py's docstring maps them."""
