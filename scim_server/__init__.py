"""SCIM 2.0 provisioning server with enterprise seat management."""

__version__ = "0.1.0"
