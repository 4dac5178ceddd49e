"""The person index's pure parts: the matcher's comparisons and weights, names and
their variants, the keys a record is filed under, the hard conflicts that keep two
records apart, and the index in memory. No database, no web, no broker."""
