"""How the registry is reached: HTTP routes, consumed events, background jobs, commands."""
