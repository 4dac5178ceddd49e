"""The screening's indicators, by element of the Palermo Protocol test (act, means,
purpose), and the continuum between trafficking and labour migration (the source
report's figure 2, positions A to F)."""

from __future__ import annotations

from enum import StrEnum

from nrm_contracts.events.identification import ExploitationType


class Act(StrEnum):
    RECRUITMENT = "recruitment"
    TRANSPORT = "transport"
    TRANSFER = "transfer"
    HARBOURING = "harbouring"
    RECEIPT = "receipt"
    # Cambodian law (LSHTSE art. 13) also: selling, buying or exchanging a person.
    SALE_OR_EXCHANGE = "sale_or_exchange"


class Means(StrEnum):
    FORCE = "force"
    THREAT = "threat"
    ABDUCTION = "abduction"
    DECEPTION_OR_FALSE_PROMISES = "deception_or_false_promises"
    ABUSE_OF_POWER_OR_VULNERABILITY = "abuse_of_power_or_vulnerability"
    DEBT_BONDAGE = "debt_bondage"
    WITHHELD_WAGES = "withheld_wages"
    CONFISCATED_DOCUMENTS = "confiscated_documents"
    RESTRICTED_MOVEMENT = "restricted_movement"
    ISOLATION = "isolation"
    PAYMENTS_TO_A_PERSON_IN_CONTROL = "payments_to_a_person_in_control"


class Purpose(StrEnum):
    SEXUAL_EXPLOITATION = "sexual_exploitation"
    FORCED_LABOUR = "forced_labour"
    FORCED_BEGGING = "forced_begging"
    FORCED_MARRIAGE = "forced_marriage"
    ILLEGAL_ADOPTION = "illegal_adoption"
    ORGAN_REMOVAL = "organ_removal"
    OTHER = "other"


class ContinuumPosition(StrEnum):
    """Figure 2 of the source report, from trafficking (A) to labour migration (F)."""

    A = "A"  # forced and/or kidnapped
    B = "B"  # false information; trafficked into another business than promised
    C = "C"  # aware of the kind of work, not of the work conditions
    D = "D"  # aware of work and conditions, could not foresee the difficulties
    E = "E"  # aware of work and conditions, not given an alternative worksite
    F = "F"  # aware of work and conditions, and able to select the worksite


CONTINUUM_MEANINGS = {
    ContinuumPosition.A: "forced and/or kidnapped",
    ContinuumPosition.B: "given false information and brought into another business than promised",
    ContinuumPosition.C: "aware of the kind of work but not of the work conditions",
    ContinuumPosition.D: "aware of the work and its conditions, unable to foresee the difficulties",
    ContinuumPosition.E: "aware of the work and its conditions, but given no choice of worksite",
    ContinuumPosition.F: "aware of the work and its conditions, and free to choose the worksite",
}

# The means a continuum position establishes by itself: A is force or abduction, B and C
# are deception (about the business, about the conditions). D and E suggest a means the
# screener should look for; F is labour migration.
CONTINUUM_MEANS = {
    ContinuumPosition.A: Means.FORCE,
    ContinuumPosition.B: Means.DECEPTION_OR_FALSE_PROMISES,
    ContinuumPosition.C: Means.DECEPTION_OR_FALSE_PROMISES,
}
CONTINUUM_GREY_ZONE = frozenset({ContinuumPosition.D, ContinuumPosition.E})

EXPLOITATION_TYPE_OF_PURPOSE = {
    Purpose.SEXUAL_EXPLOITATION: ExploitationType.SEXUAL_EXPLOITATION,
    Purpose.FORCED_LABOUR: ExploitationType.FORCED_LABOUR,
    Purpose.FORCED_BEGGING: ExploitationType.FORCED_BEGGING,
    Purpose.FORCED_MARRIAGE: ExploitationType.FORCED_MARRIAGE,
    Purpose.ILLEGAL_ADOPTION: ExploitationType.ILLEGAL_ADOPTION,
    Purpose.ORGAN_REMOVAL: ExploitationType.ORGAN_REMOVAL,
    Purpose.OTHER: ExploitationType.OTHER,
}


def exploitation_types(purposes: list[Purpose]) -> list[ExploitationType]:
    """The HTCDS exploitation types of the purposes found, in a stable order."""
    found = {EXPLOITATION_TYPE_OF_PURPOSE[purpose] for purpose in purposes}
    return [kind for kind in ExploitationType if kind in found]
