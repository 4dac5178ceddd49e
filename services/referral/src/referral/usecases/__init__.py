"""Referral's use cases: each takes the database (or the unit of work) and the context,
and refuses with the runtime's domain errors."""
