"""A counterpart agency played by a small real HTTP server, for tests and the demo.

It receives our signed liaison messages, deduplicates them by idempotency key, and
plays its country's side of the case's SOP through the liaison API: after each message
it reads the case, completes whichever allowed step is its country's (with the required
documents and plausible details), and goes on while the next step is still its own.
Delays, refused steps and an endpoint that fails its first deliveries are configurable:
``python -m repatriation.simulator --help``.
"""
