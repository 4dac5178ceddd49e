"""Cambodia's provinces and capital by their official two-digit code (National Institute
of Statistics), in English and Khmer, for the forms' choices."""

from __future__ import annotations

PROVINCES: dict[str, tuple[str, str]] = {
    "01": ("Banteay Meanchey", "បន្ទាយមានជ័យ"),
    "02": ("Battambang", "បាត់ដំបង"),
    "03": ("Kampong Cham", "កំពង់ចាម"),
    "04": ("Kampong Chhnang", "កំពង់ឆ្នាំង"),
    "05": ("Kampong Speu", "កំពង់ស្ពឺ"),
    "06": ("Kampong Thom", "កំពង់ធំ"),
    "07": ("Kampot", "កំពត"),
    "08": ("Kandal", "កណ្ដាល"),
    "09": ("Koh Kong", "កោះកុង"),
    "10": ("Kratie", "ក្រចេះ"),
    "11": ("Mondul Kiri", "មណ្ឌលគិរី"),
    "12": ("Phnom Penh", "ភ្នំពេញ"),
    "13": ("Preah Vihear", "ព្រះវិហារ"),
    "14": ("Prey Veng", "ព្រៃវែង"),
    "15": ("Pursat", "ពោធិ៍សាត់"),
    "16": ("Ratanak Kiri", "រតនគិរី"),
    "17": ("Siem Reap", "សៀមរាប"),
    "18": ("Preah Sihanouk", "ព្រះសីហនុ"),
    "19": ("Stung Treng", "ស្ទឹងត្រែង"),
    "20": ("Svay Rieng", "ស្វាយរៀង"),
    "21": ("Takeo", "តាកែវ"),
    "22": ("Oddar Meanchey", "ឧត្ដរមានជ័យ"),
    "23": ("Kep", "កែប"),
    "24": ("Pailin", "ប៉ៃលិន"),
    "25": ("Tbong Khmum", "ត្បូងឃ្មុំ"),
}


def province_name(code: str | None, language: str) -> str:
    if code is None or code not in PROVINCES:
        return code or "—"
    english, khmer = PROVINCES[code]
    return khmer if language == "km" else english
