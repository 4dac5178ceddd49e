"""When a referral case opens, and its status: a case opens for a presumed or identified
victim only on a valid consent to referral."""

from __future__ import annotations

from enum import StrEnum

from nrm_contracts.events.identification import ConsentBasis


class ReferralCaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


CHILD_BASES = frozenset({ConsentBasis.GUARDIAN, ConsentBasis.BEST_INTEREST_DECISION})


def valid_referral_basis(basis: ConsentBasis | None, is_child: bool | None) -> bool:
    """A child is referred on a guardian's consent or a best-interest decision, an adult
    on their own consent; when the age is unknown, any given consent serves."""
    if basis is None:
        return False
    if is_child is True:
        return basis in CHILD_BASES
    if is_child is False:
        return basis is ConsentBasis.OWN_CONSENT
    return True
