"""NRM shelter registry: Organisations, facilities and their live capacity;
registration with MOSVY; coverage and gaps."""
