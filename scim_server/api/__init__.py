"""Thin Flask blueprints: /scim/v2, /api/v1, health."""
