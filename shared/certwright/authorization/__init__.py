"""Who may do what: principals, Cedar entities, the schema and default policy, and the one decision point."""
