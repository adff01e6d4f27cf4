"""storeedge cloud hub: ingest from all stores, verify chains, retrain, roll out, serve the API.

This release ships the command-line entry point; ingest, registry, rollout and the
gRPC API arrive with their issues (see docs/ARCHITECTURE.md).
"""

__version__ = "0.1.0"
