"""NRM repatriation: Cross-border cases run by bilateral SOPs as data,
with the counterpart agencies' liaison API."""
