"""PostgreSQL migrations, numbered in step with bot/store/migrations (same numbers, same schema)."""
