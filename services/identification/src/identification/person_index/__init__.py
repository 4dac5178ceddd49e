"""The person index: every screening matched to the persons already known (live, on
arrival, or later when a legacy import held the index), the moves of records between
persons, the Competent Authority's review, and the index rekeyed. Its pure parts (the
matcher, names, keys, hard conflicts, the in-memory index) are in :mod:`.domain`."""
