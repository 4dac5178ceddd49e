"""How the service is reached: its HTTP routes and its background jobs."""
