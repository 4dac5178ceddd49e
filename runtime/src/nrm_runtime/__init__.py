"""The shared runtime of the NRM services.

What every service needs and nobody should write twice: settings that refuse insecure
defaults, the database and its unit of work, the transactional outbox and its relay, the
idempotent consumer with its dead-letter topic, bearer-token authentication, tracing,
structured logs, health and metrics.
"""
