"""How identification is reached: its routes, the events it consumes, its background
jobs and the options its commands share."""
