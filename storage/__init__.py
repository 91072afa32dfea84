"""Storage: SQLModel models, engine/session, queries and domain rules (no Slack imports)."""
