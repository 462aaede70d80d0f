"""Checks that a running SCIM deployment behaves as the identity providers need."""
