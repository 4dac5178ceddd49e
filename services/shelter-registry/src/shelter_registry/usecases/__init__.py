"""What callers ask of the registry, one verb (or a few on one aggregate) per module:
each takes the database or its unit of work and the context, and raises the runtime's
domain errors, never an HTTP status."""
