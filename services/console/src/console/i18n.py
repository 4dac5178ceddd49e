"""Khmer and English: gettext catalogues (Babel), the words for the services' codes, dates.

The catalogues are ``locale/<lang>/LC_MESSAGES/messages.po``; they are compiled in memory
when the console starts (no ``.mo`` file in the repository). English is the source
language: its messages are the msgids themselves.
"""

from __future__ import annotations

import gettext
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from console.buddhist_era import buddhist_era_year
from nrm_runtime.reference_codes import Province, provinces

LANGUAGES = ("en", "km")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "nrm_console_lang"
LOCALE_DIR = Path(__file__).parent / "locale"
KHMER_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")
CAMBODIA = ZoneInfo("Asia/Phnom_Penh")
ANSWER = re.compile(r"(?:act|means|purpose|labour sector): ([a-z_]+)")


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (English: none, the msgids are English)."""
    po_file = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not po_file.exists():
        return gettext.NullTranslations()
    with po_file.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def be_of(day: date) -> str:
    """`` ព.ស. 2570``: the Buddhist-era year as Khmer dates write it (see
    console.buddhist_era for when it changes); nothing outside the years tabulated."""
    year = buddhist_era_year(day)
    return "" if year is None else f" ព.ស. {year}"


def chosen_language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Words:
    """What a page needs to speak one language: ``_`` and the date formats."""

    language: str

    def gettext(self, message: str) -> str:
        return translations(self.language).gettext(message)

    def label(self, code: str | None) -> str:
        """A service's code (``sexual_exploitation``) in the user's language."""
        if code is None:
            return "—"
        english = LABELS.get(code)
        return self.gettext(english) if english else code

    def date(self, value: date | datetime | str | None) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, str):
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        if isinstance(value, datetime):
            # Times are shown in Cambodia's time, whatever the server's zone.
            if self.language == "km":
                text = format_datetime(value, "d MMMM y", tzinfo=CAMBODIA, locale="km")
                local = value.astimezone(CAMBODIA) if value.tzinfo else value
                clock = format_datetime(value, "HH:mm", tzinfo=CAMBODIA, locale="km")
                return f"{text}{be_of(local.date())} {clock}".translate(KHMER_DIGITS)
            return format_datetime(value, "d MMM y HH:mm", tzinfo=CAMBODIA, locale="en_GB")
        if self.language == "km":
            # Khmer usage: day, month name, year, in Khmer digits, and the Buddhist-era
            # year beside the Gregorian one (ថ្ងៃទី៧ ខែធ្នូ ឆ្នាំ២០២៦ ព.ស. ២៥៧០).
            month = format_date(value, "MMMM", locale="km")
            text = f"ថ្ងៃទី{value.day} ខែ{month} ឆ្នាំ{value.year}{be_of(value)}"
            return text.translate(KHMER_DIGITS)
        return format_date(value, "d MMM y", locale="en_GB")

    def province(self, code: str | None) -> str:
        """A province's name from its code (the runtime's list, the one the services
        validate against); an unknown code as it came."""
        if not code:
            return "—"
        found = provinces_by_code().get(code)
        if found is None:
            return code
        return found.name_km if self.language == "km" else found.name

    def answer(self, text: str) -> str:
        """One of the presumptive assessment's answers (``act: harbouring``): the service
        writes them as English phrases; those naming a code are given in the user's words."""
        found = ANSWER.fullmatch(text)
        return self.label(found.group(1)) if found else text

    def number(self, value: int | None) -> str:
        text = "—" if value is None else str(value)
        return text.translate(KHMER_DIGITS) if self.language == "km" else text


@cache
def provinces_by_code() -> dict[str, Province]:
    return {province.code: province for province in provinces()}


def province_codes() -> list[str]:
    """The codes in the NIS order, for a form's choices."""
    return list(provinces_by_code())


# The services answer in codes; these are their English names (msgids of the catalogue).
LABELS: dict[str, str] = {
    # sex
    "female": "Female",
    "male": "Male",
    "transgender": "Transgender",
    "other": "Other",
    "unknown": "Unknown",
    # encounter
    "police_operation": "Police operation or raid",
    "border_or_deportation_screening": "Border or deportation screening",
    "self_referral": "Self-referral",
    "hotline": "Hotline",
    "ngo_outreach": "NGO outreach",
    "embassy_or_consulate": "Embassy or consulate",
    "community_report": "Community report",
    # act
    "recruitment": "Recruitment",
    "transport": "Transport",
    "transfer": "Transfer",
    "harbouring": "Harbouring",
    "receipt": "Receipt",
    "sale_or_exchange": "Selling, buying or exchanging a person",
    # means
    "force": "Force",
    "threat": "Threat",
    "abduction": "Abduction",
    "deception_or_false_promises": "Deception or false promises",
    "abuse_of_power_or_vulnerability": "Abuse of power or of vulnerability",
    "debt_bondage": "Debt bondage",
    "withheld_wages": "Withheld wages",
    "confiscated_documents": "Confiscated documents",
    "restricted_movement": "Restricted movement",
    "isolation": "Isolation",
    "payments_to_a_person_in_control": "Payments to a person in control",
    # purpose
    "sexual_exploitation": "Sexual exploitation",
    "forced_labour": "Forced labour",
    "forced_begging": "Forced begging",
    "forced_marriage": "Forced marriage",
    "illegal_adoption": "Illegal adoption",
    "organ_removal": "Organ removal",
    # presumptive result
    "presumed_victim": "Presumed victim",
    "possible_victim_more_information_needed": "Possible victim: more information needed",
    "indicators_not_met": "Indicators not met",
    # consent
    "referral": "Referral",
    "data_sharing": "Data sharing",
    "repatriation": "Repatriation",
    "own_consent": "The person's own consent",
    "guardian": "Guardian's consent",
    "best_interest_decision": "Best-interest decision",
    # case status, decisions
    "awaiting_preliminary_decision": "Awaiting preliminary decision",
    "awaiting_final_decision": "Awaiting final decision",
    "more_information_needed": "More information needed",
    "identified": "Identified",
    "not_identified": "Not identified",
    "preliminary": "Preliminary (reasonable grounds)",
    "final": "Final (conclusive grounds)",
    # repatriation
    "inbound": "Inbound (to Cambodia)",
    "outbound": "Outbound (from Cambodia)",
    "given": "Given",
    "withdrawn": "Withdrawn",
    "with_family": "With the family",
    "in_aftercare": "In aftercare",
    "living_independently": "Living independently",
    "not_located": "Not located",
    # the SOPs' documents
    "victim_identification_form": "Victim identification form",
    "consent_to_return": "Consent to return",
    "verification_report": "Verification report",
    "family_assessment_report": "Family assessment report",
    "best_interest_assessment_report": "Best-interest assessment report",
    "travel_document": "Travel document",
    "handover_record": "Handover record",
    "reception_record": "Reception record",
    "reintegration_report": "Reintegration report",
    "legal_clearance": "Legal clearance",
    "protection_order": "Protection order",
    # population groups
    "girls": "Girls",
    "boys": "Boys",
    "adult_women": "Adult women",
    "adult_men": "Adult men",
    "transgender_persons": "Transgender persons",
    # review pairs
    "open": "Open",
    "confirmed": "Confirmed",
    "rejected": "Rejected",
    "settled": "Settled",
    # referral states
    "draft": "Draft",
    "awaiting_signoff": "Awaiting sign-off",
    "sent": "Sent",
    "accepted": "Accepted",
    "declined": "Declined",
    "admitted": "Admitted",
    "exited": "Exited",
    "closed": "Closed",
    "cancelled": "Cancelled",
    "expired": "Expired",
    # needs
    "safe_accommodation": "Safe accommodation",
    "medical": "Medical care",
    "psychosocial": "Psychosocial support",
    "legal_aid": "Legal aid",
    "family_tracing": "Family tracing",
    "interpretation": "Interpretation",
    # exit
    "reintegrated": "Reintegrated",
    "transferred": "Transferred",
    "left": "Left",
    "repatriated": "Repatriated",
    "no_capacity": "No free bed",
    "not_eligible": "Not eligible",
    "cannot_meet_needs": "Cannot meet the needs",
    "safety_concern": "Safety concern",
    # age bands
    "under_12": "Under 12",
    "12_to_17": "12 to 17",
    "18_to_24": "18 to 24",
    "25_to_39": "25 to 39",
    "40_to_59": "40 to 59",
    "60_and_over": "60 and over",
    # roles
    "screener": "First responder",
    "competent_authority": "Competent Authority",
    "case_manager": "NRM coordinator",
    "provider_staff": "Shelter NGO staff",
    "analyst": "Analyst",
    "liaison_officer": "Repatriation officer",
    "auditor": "Auditor",
    # urgency, needs of the referral
    "immediate": "Immediate (today)",
    "high": "High (within days)",
    "routine": "Routine",
    "education": "Education",
    "vocational_training": "Vocational training",
    "reintegration_support": "Reintegration support",
}
