"""The hub's API contract (generated code for storeedge.hub.v1 lives in v1/)."""
