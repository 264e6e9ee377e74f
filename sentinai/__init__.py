"""SentinAI: per-tenant stream processing of business exceptions."""
