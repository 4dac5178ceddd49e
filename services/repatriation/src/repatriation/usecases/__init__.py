"""Repatriation's use cases: each takes the database or the caller's unit of work and the
context, and refuses with the runtime's domain errors."""
