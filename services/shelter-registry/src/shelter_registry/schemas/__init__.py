"""The registry as the API takes it and gives it: one module per area."""
