"""Province names as agencies write them in their exports: the code, the English name
of the reference list, other romanisations, and the name in Khmer script."""

from __future__ import annotations

import unicodedata
from functools import cache

from nrm_runtime.reference_codes import is_province_code, provinces

# Spellings seen besides the reference list's (National Institute of Statistics).
_OTHER_NAMES: dict[str, tuple[str, ...]] = {
    "01": ("Banteay Mean Chey", "បន្ទាយមានជ័យ"),
    "02": ("Batdambang", "បាត់ដំបង"),
    "03": ("Kompong Cham", "កំពង់ចាម"),
    "04": ("Kompong Chhnang", "កំពង់ឆ្នាំង"),
    "05": ("Kompong Speu", "Kampong Spoe", "កំពង់ស្ពឺ"),
    "06": ("Kompong Thom", "កំពង់ធំ"),
    "07": ("Kampot", "កំពត"),
    "08": ("Kandal", "កណ្ដាល", "កណ្តាល"),
    "09": ("Kaoh Kong", "កោះកុង"),
    "10": ("Kracheh", "ក្រចេះ"),
    "11": ("Mondulkiri", "Mondol Kiri", "មណ្ឌលគិរី"),
    "12": ("Phnom Penh Capital", "ភ្នំពេញ"),
    "13": ("Preah Vihear", "ព្រះវិហារ"),
    "14": ("Prey Veaeng", "ព្រៃវែង"),
    "15": ("Pousat", "ពោធិ៍សាត់"),
    "16": ("Ratanakiri", "Rattanakiri", "Ratanakkiri", "រតនគិរី"),
    "17": ("Siemreap", "Siem Riep", "សៀមរាប"),
    "18": ("Sihanoukville", "Kampong Som", "Kompong Som", "ព្រះសីហនុ"),
    "19": ("Steung Treng", "Stoeng Treng", "ស្ទឹងត្រែង"),
    "20": ("Svay Rieng", "ស្វាយរៀង"),
    "21": ("Takev", "តាកែវ"),
    "22": ("Otdar Meanchey", "Oddor Meanchey", "ឧត្ដរមានជ័យ", "ឧត្តរមានជ័យ"),
    "23": ("Kaeb", "កែប"),
    "24": ("Pailin", "ប៉ៃលិន"),
    "25": ("Tboung Khmum", "Tbaung Khmum", "ត្បូងឃ្មុំ"),
}


def province_key(text: str) -> str:
    """A province name folded for lookup: no case, accents, spaces, hyphens or dots."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(
        ch for ch in decomposed if not unicodedata.combining(ch) or "\u1780" <= ch <= "\u17ff"
    )
    return "".join(ch for ch in unicodedata.normalize("NFC", kept) if ch not in " -._'")


@cache
def _codes_by_name() -> dict[str, str]:
    codes: dict[str, str] = {}
    for province in provinces():
        for spelling in (province.name, province.name_km, *_OTHER_NAMES.get(province.code, ())):
            codes[province_key(spelling)] = province.code
    return codes


def province_code(text: str) -> str | None:
    """The two-digit code of a province given by code ("12", "1") or by name in Latin
    letters or Khmer script ("Phnom Penh", "ភ្នំពេញ"); None when it is no province."""
    value = text.strip()
    if value.isdigit() and len(value) <= 2:
        code = value.zfill(2)
        return code if is_province_code(code) else None
    return _codes_by_name().get(province_key(value))
