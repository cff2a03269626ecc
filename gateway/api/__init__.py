"""HTTP API v1: one blueprint per resource, declared with :func:`gateway.api.endpoint.endpoint`."""
