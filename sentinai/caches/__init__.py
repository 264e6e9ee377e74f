"""In-process caches of what lives in PostgreSQL (the active packs), refreshed by the worker."""
