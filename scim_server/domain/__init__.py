"""Pure product rules: standard library only."""
