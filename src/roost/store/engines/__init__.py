"""Store engines: what the mail semantics need of a database (api.py: Engine, Tx,
TextIndex, and the isolation an engine must give), and the two engines, sqlite/ (embedded,
the default) and postgresql/ (several Roost nodes on one database)."""
