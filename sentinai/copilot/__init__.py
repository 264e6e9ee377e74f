"""The copilot: read-only answers about a tenant's own exceptions, with citations.

`intents` (pure: what is asked), `retrieval` (what the tenant's records say, read-only SQL owned
by the code), `templates` (the deterministic answer), `grounded` (the model's answer, accepted
only when it cites what was retrieved), `audit` and `service` (one question end to end). See
docs/copilot.md.
"""
