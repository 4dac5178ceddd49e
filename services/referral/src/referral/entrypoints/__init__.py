"""How the world reaches referral: its HTTP routes, the events it consumes, its jobs."""
