"""Prosecution liaison: criminal cases' proceedings records, the identification cases
linked to them, and what their investigators and prosecutors may see of those cases
(victim status, non-punishment, whether the person is still here and in assistance, whom
to contact), never a shelter, an address or free text."""
