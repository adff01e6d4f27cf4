"""storeedge: shared wire contract and helpers for the store-edge kit.

- ``storeedge.v1``: generated protobuf code for package ``storeedge.v1``
  (sources in ``protos/storeedge/v1``; regenerate with ``python scripts/protos.py generate``).
- ``storeedge.ids``: canonical text form of ``RecordId``.
- ``storeedge.compat``: backward-compatibility check between descriptor sets.
"""
