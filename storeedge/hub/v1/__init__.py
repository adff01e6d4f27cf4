"""Generated code for the storeedge.hub.v1 gRPC API (protos/storeedge/hub/v1); do not edit:
run `make proto`."""
