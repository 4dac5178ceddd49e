"""Request and response models of identification's routes, one module per area."""
