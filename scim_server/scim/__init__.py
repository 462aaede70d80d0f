"""SCIM mapping: scim2-models <-> rows, filter AST -> SQLAlchemy, PATCH application."""
