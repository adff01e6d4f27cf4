"""storeedge edge agent: the store-side daemon and its command line.

Layers (see docs/ARCHITECTURE.md): the mirror owns the store's SQLite state,
ingest validates POS exports into it, the audit log appends and verifies a
hash chain, the simulator writes realistic stores through the same ingest path.
"""

__version__ = "0.1.0"
