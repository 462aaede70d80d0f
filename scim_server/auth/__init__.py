"""Bearer tokens (and, later, OIDC sign-in)."""
