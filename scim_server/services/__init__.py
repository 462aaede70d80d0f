"""Use cases: open a unit of work, apply the rules, commit. No HTTP here."""
