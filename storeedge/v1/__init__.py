"""Generated protobuf code for package ``storeedge.v1`` (do not edit the ``*_pb2`` files).

Sources live in ``protos/storeedge/v1/*.proto``. Regenerate with
``python scripts/protos.py generate`` and check with ``python scripts/protos.py check``.
"""
