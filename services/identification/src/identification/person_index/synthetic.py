"""Synthetic victim records for tests and the matcher benchmark: seeded, reproducible,
with the true identity of each record kept for evaluation. No real person's data.

Khmer and Vietnamese persons, each recorded by one to five agencies (police, MOSVY,
NGOs, immigration, embassies), each record with the mistakes the source report leads
one to expect: transliteration variants, Khmer script only, Vietnamese with or without
diacritics, family name first or last, a middle name left out, typing slips, birth
dates year-only, estimated from an apparent age, mistyped or missing, the person met in
another province.

A person's records are dated as a referral chain dates them: the agencies that meet a
person in one episode (an interception, a raid, a deportation) record it within days or
weeks of each other, some months later; one person in eight is met again in a later
episode (re-trafficked, or returning). And many are met in crowds, as the source report
describes the raids and the mass deportations at Poipet: a third of the persons are part
of a group of 5 to 60 met the same day in the same province, so that a close encounter
date is weak evidence between the members of one group. A group holds families and
namesakes: one member in four joining a group is the sibling of one already in it (the
same family name, another given name, born a few years apart; now and then a twin,
born the same day) or carries the very name of one (a common name, a cousin named after
the same grandparent) with a birth date of their own, often a child beside an adult.
These are the hard negatives: records alike in name, day, place and agency that are two
people (``name_of`` and ``group_key`` tell the benchmark which they are).

The name pools are sized so that a set of 100,000 records is not a crowd of namesakes,
and skewed as real registers are: Khmer given names compounded of two syllables (some
1,400 compounds and 40 single names), Khmer family names in Zipf-like shares, and
Vietnamese family and middle names in their census shares (Nguyễn about 38 %, Thị and
Văn the usual middle names), so that "Nguyen Thi Lan" recurs as it does in life. The
same seed gives the same set.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, timedelta
from pathlib import Path

# (Latin spellings seen, the first the usual one; Khmer script or None)
_KHMER_GIVEN: tuple[tuple[tuple[str, ...], str | None, str], ...] = (
    (("Sokha", "Sokhar", "Sok Kha", "Sokhaa"), "សុខា", "female"),
    (("Chhay", "Chay", "Chhai"), "ឆាយ", "male"),
    (("Vannak", "Vanak", "Vannac"), "វណ្ណៈ", "male"),
    (("Dara", "Darah", "Daraa"), "ដារា", "male"),
    (("Sophea", "Sophia", "Sopheaa"), "សុភា", "female"),
    (("Bopha", "Bofa", "Bopa"), "បុប្ផា", "female"),
    (("Sreymom", "Srey Mom", "Srei Mom"), "ស្រីមុំ", "female"),
    (("Pich", "Pech", "Piech"), "ពេជ្រ", "female"),
    (("Kanha", "Kagna", "Kanhaa"), "កញ្ញា", "female"),
    (("Sovann", "Sovan", "Sovanne"), "សុវណ្ណ", "male"),
    (("Rithy", "Rithi", "Rity"), "រិទ្ធី", "male"),
    (("Thida", "Tida", "Thidar"), "ធីតា", "female"),
    (("Kosal", "Kossal", "Kosol"), "កុសល", "male"),
    (("Ratha", "Rattha", "Rathaa"), "រដ្ឋា", "male"),
    (("Chenda", "Chendar", "Jenda"), "ចិន្តា", "female"),
    (("Nary", "Nari", "Narry"), "នារី", "female"),
    (("Leakhena", "Leakena", "Lekhena"), "លក្ខិណា", "female"),
    (("Pisey", "Pisei", "Bisey"), "ពិសី", "female"),
    (("Vuthy", "Vuthi", "Wuthy"), "វុទ្ធី", "male"),
    (("Sophal", "Sopal", "Sophall"), "សុផល", "male"),
    (("Chantha", "Chanta", "Chantha"), "ចន្ថា", "female"),
    (("Mealea", "Mealear", "Melea"), "មាលា", "female"),
    (("Samnang", "Samnaang", "Sam Nang"), "សំណាង", "male"),
    (("Vibol", "Vibul", "Viboll"), "វិបុល", "male"),
    (("Sreyleak", "Srey Leak", "Sreileak"), "ស្រីល័ក្ខ", "female"),
    (("Bunthoeun", "Bunthoeurn", "Bun Thoeun"), None, "male"),
    (("Kunthea", "Kunthear", "Kun Thea"), "គន្ធា", "female"),
    (("Phalla", "Phala", "Phallaa"), "ផល្លា", "female"),
    (("Sokunthea", "Sokuntheara", "So Kunthea"), None, "female"),
    (("Makara", "Markara", "Makaraa"), "មករា", "male"),
    (("Chanthou", "Chanthu", "Chan Thou"), None, "female"),
    (("Rachana", "Rachna", "Reachana"), "រចនា", "female"),
    (("Heang", "Hieng", "Heng"), None, "male"),
    (("Sothea", "Sotha", "Sothear"), "សុធា", "female"),
    (("Davy", "Davi", "Daavy"), "ដាវី", "female"),
    (("Piseth", "Pisith", "Pisethh"), "ពិសិដ្ឋ", "male"),
    (("Sambath", "Sambat", "Sam Bath"), "សម្បត្តិ", "male"),
    (("Srey Neang", "Sreyneang", "Srei Neang"), None, "female"),
    (("Vanna", "Vana", "Vannaa"), "វណ្ណា", "female"),
    (("Tola", "Toula", "Tolla"), "តុលា", "male"),
)
# Khmer given names are often compounds of two syllables ("Srey" + "Nary"); these make
# the pool as varied as real registers, so namesakes are as rare as they are there.
_KHMER_FIRST_SYLLABLES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("Srey", "Srei"), "ស្រី"),
    (("Chan", "Chann"), "ចាន់"),
    (("Sok", "Sokh"), "សុខ"),
    (("Vann", "Van"), "វណ្ណ"),
    (("Bun", "Boun"), "ប៊ុន"),
    (("Sam", "Sum"), "សំ"),
    (("Mony", "Moni"), "មុន្នី"),
    (("Ra", "Rea"), "រ៉ា"),
    (("Dara", "Darah"), "ដារា"),
    (("Kim", "Keem"), "គីម"),
    (("Pich", "Pech"), "ពេជ្រ"),
    (("Sophy", "Sophi"), "សុភី"),
    (("Sov", "Sow"), "សុវ"),
    (("Phal", "Phall"), "ផល"),
    (("Ly", "Li"), "លី"),
    (("Mean", "Mien"), "មាន"),
    (("Soph", "Sof"), "សុភ"),
    (("Kanh", "Kagn"), "កញ្ញ"),
    (("Seyha", "Seiha"), "សីហា"),
    (("Puth", "Put"), "ពុធ"),
    (("Sothy", "Sothi"), "សុធី"),
    (("Nimol", "Nimal"), "និមល"),
    (("Chhor", "Chor"), "ឆ"),
    (("Meng", "Mheng"), "ម៉េង"),
    (("Bora", "Borra"), "បូរ៉ា"),
    (("Lin", "Linn"), "លីន"),
    (("Rasmey", "Reaksmey"), "រស្មី"),
    (("Socheat", "Sochet"), "សុជាតិ"),
    (("Vichet", "Vichit"), "វិចិត្រ"),
    (("Sopheak", "Sophak"), "សុភ័ក្រ"),
    (("Thea", "Tea"), "ធា"),
    (("Nita", "Nitta"), "នីតា"),
    (("Ratana", "Rathana"), "រតនា"),
    (("Oudom", "Udom"), "ឧត្តម"),
    (("Narin", "Narinn"), "ណារិន"),
    (("Maly", "Mali"), "ម៉ាលី"),
)
_KHMER_SECOND_SYLLABLES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("nary", "nari"), "នារី"),
    (("thida", "tida"), "ធីតា"),
    (("vy", "vi"), "វី"),
    (("rith", "rit"), "រិទ្ធ"),
    (("leak", "leakh"), "ល័ក្ខ"),
    (("neang", "nieng"), "នាង"),
    (("ratha", "rattha"), "រដ្ឋា"),
    (("mony", "moni"), "មុន្នី"),
    (("phalla", "phala"), "ផល្លា"),
    (("sophal", "sopal"), "សុផល"),
    (("visal", "visall"), "វិសាល"),
    (("kanha", "kagna"), "កញ្ញា"),
    (("chenda", "jenda"), "ចិន្តា"),
    (("sreng", "sraeng"), "ស្រេង"),
    (("thy", "thi"), "ធី"),
    (("pov", "pou"), "ពៅ"),
    (("mom", "mum"), "មុំ"),
    (("lin", "linn"), "លីន"),
    (("ny", "ni"), "នី"),
    (("theary", "thiri"), "ធារី"),
    (("rin", "rinn"), "រិន"),
    (("dy", "di"), "ឌី"),
    (("chea", "chia"), "ជា"),
    (("pheap", "pheab"), "ភាព"),
    (("leap", "lep"), "លាភ"),
    (("hong", "houng"), "ហុង"),
    (("channa", "chana"), "ចន្នា"),
    (("nita", "nitta"), "នីតា"),
    (("vuth", "vuthy"), "វុទ្ធ"),
    (("maly", "mali"), "ម៉ាលី"),
    (("tola", "toula"), "តុលា"),
    (("sokha", "sokhar"), "សុខា"),
    (("vanna", "vana"), "វណ្ណា"),
    (("bopha", "bupha"), "បុប្ផា"),
    (("seyha", "seiha"), "សីហា"),
    (("rasmey", "reaksmey"), "រស្មី"),
    (("sothea", "sotha"), "សុធា"),
    (("ka", "kaa"), "កា"),
    (("na", "nha"), "ណា"),
    (("ra", "rea"), "រ៉ា"),
)


def _compound_given(rng: random.Random) -> tuple[tuple[str, ...], str]:
    first, first_khmer = rng.choice(_KHMER_FIRST_SYLLABLES)
    second, second_khmer = rng.choice(_KHMER_SECOND_SYLLABLES)
    spellings = tuple(
        dict.fromkeys(
            spelling for a in first for b in second for spelling in (a + b, f"{a} {b.capitalize()}")
        )
    )
    return spellings, first_khmer + second_khmer


_KHMER_FAMILY: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (("Chan", "Chann", "Chane"), "ចាន់"),
    (("Sok", "Sokh", "Sock"), "សុខ"),
    (("Keo", "Kaev", "Keov"), "កែវ"),
    (("Chea", "Chia"), "ជា"),
    (("Heng", "Haeng"), "ហេង"),
    (("Ly", "Li"), "លី"),
    (("Meas", "Mas", "Meash"), "មាស"),
    (("Phan", "Phann", "Fan"), "ផាន់"),
    (("Prak", "Brak"), "ប្រាក់"),
    (("Nhem", "Gnem"), "ញឹម"),
    (("Touch", "Tuch", "Touj"), "ទូច"),
    (("Seng", "Saeng"), "សេង"),
    (("Kim", "Keem"), "គីម"),
    (("Ouk", "Uk", "Ok"), "អ៊ុក"),
    (("Mao", "Mau"), "ម៉ៅ"),
    (("Hun", "Hunn", "Houn"), "ហ៊ុន"),
    (("Pen", "Paen"), "ប៉ែន"),
    (("Sorn", "Son", "Sorng"), None),
    (("Srun", "Sroun"), "ស្រ៊ុន"),
    (("Long", "Loung"), "ឡុង"),
    (("Yim", "Yem"), None),
    (("Tep", "Taep", "Thep"), "ទេព"),
    (("Khiev", "Khieu", "Kiev"), None),
    (("Vong", "Voung", "Wong"), "វង្ស"),
    (("Nov", "Nouv", "Nou"), None),
    (("Soeun", "Suon", "Soun"), None),
    (("Chhim", "Chim", "Chhiem"), "ឈឹម"),
    (("Em", "Aem", "Im"), "អែម"),
    (("Pov", "Pou", "Pouv"), "ពៅ"),
    (("Thach", "Thac", "Tach"), None),
    (("Chhun", "Chun"), "ឈុន"),
    (("Hong", "Houng"), "ហុង"),
    (("Kong", "Kang"), "គង់"),
    (("Lim", "Leum"), "លឹម"),
    (("Men", "Maen"), "ម៉ែន"),
    (("Nuon", "Noun"), "នួន"),
    (("Sao", "Sau"), "សៅ"),
    (("Sim", "Seum"), "ស៊ឹម"),
    (("Som", "Saom"), "សោម"),
    (("Tan", "Tann"), "តាន់"),
    (("Ung", "Oung"), "អ៊ុង"),
    (("Yin", "Yen"), "យិន"),
    (("Sun", "Soun"), "ស៊ុន"),
    (("Huot", "Huat"), "ហួត"),
    (("Lay", "Lai"), "ឡាយ"),
    (("Khun", "Kun"), "ឃុន"),
    (("Chhorn", "Chorn"), None),
    (("Say", "Sai"), None),
    (("Mom", "Mam"), "ម៉ម"),
    (("Ros", "Ross"), None),
)
# (accented, plain, share in percent of the population): Vietnamese family names are few
# and very unequal (Nguyễn is about 38 %), as the census surveys report.
_VIET_FAMILY: tuple[tuple[str, str, float], ...] = (
    ("Nguyễn", "Nguyen", 38.4), ("Trần", "Tran", 12.1), ("Lê", "Le", 9.5),
    ("Phạm", "Pham", 7.0), ("Hoàng", "Hoang", 3.0), ("Huỳnh", "Huynh", 2.1),
    ("Phan", "Phan", 4.5), ("Vũ", "Vu", 2.0), ("Võ", "Vo", 1.9), ("Đặng", "Dang", 2.1),
    ("Bùi", "Bui", 2.0), ("Đỗ", "Do", 1.4), ("Hồ", "Ho", 1.3), ("Ngô", "Ngo", 1.3),
    ("Dương", "Duong", 1.0), ("Lý", "Ly", 0.5), ("Trương", "Truong", 1.0),
    ("Đinh", "Dinh", 0.8), ("Lâm", "Lam", 0.5), ("Mai", "Mai", 0.5), ("Trịnh", "Trinh", 0.5),
    ("Đoàn", "Doan", 0.5), ("Lương", "Luong", 0.4), ("Cao", "Cao", 0.4), ("Hà", "Ha", 0.4),
    ("Tạ", "Ta", 0.3), ("Châu", "Chau", 0.3), ("Thái", "Thai", 0.3), ("Tô", "To", 0.2),
    ("Quách", "Quach", 0.2), ("Kiều", "Kieu", 0.2), ("Văn", "Van", 0.2),
)  # fmt: skip
# Middle names: Thị and Văn are the usual ones, the others spread thin.
_VIET_MIDDLE: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "female": (
        ("Thị", "Ngọc", "Thu", "Hồng", "Kim", "Thanh", "Bích", "Mỹ", "Phương", "Minh", "Hoài",
         "Thùy", "Diệu", "Xuân"),
        (40, 8, 6, 5, 5, 5, 3, 3, 3, 2, 2, 2, 2, 2),
    ),
    "male": (
        ("Văn", "Minh", "Đức", "Quốc", "Hữu", "Công", "Thanh", "Hoàng", "Xuân", "Quang",
         "Thành", "Bá", "Đình", "Ngọc"),
        (35, 8, 6, 5, 5, 4, 4, 3, 3, 3, 3, 2, 3, 2),
    ),
}  # fmt: skip
_VIET_GIVEN = {
    "female": ("Lan", "Hương", "Mai", "Hoa", "Linh", "Trang", "Thảo", "Hà", "Nga", "Hạnh",
               "Phương", "Yến", "Tuyết", "Nhung", "Loan", "Oanh", "Thủy", "Hằng", "Vy", "Dung",
               "Giang", "Huyền", "Khuê", "Liên", "Mỹ", "Ngân", "Nhàn", "Quyên", "Tâm", "Trinh",
               "Uyên", "Xuân", "Diệp", "Châu", "Hiền", "Kiều", "Lụa", "Mơ", "Bích", "Đào",
               "Ánh", "Cúc", "Diễm", "Duyên", "Gấm", "Hạ", "Hậu", "Hoài", "Huệ", "Khanh",
               "Lệ", "Liễu", "Ly", "My", "Nguyệt", "Nhi", "Như", "Phượng", "Quỳnh", "Sen",
               "Thắm", "Thơ", "Thúy", "Thư", "Tiên", "Trâm", "Vân", "Xuyến", "Yên", "Cẩm",
               "Chi", "Đan", "Điệp", "Hiên", "Lam", "Ngà", "Sương", "Tú", "Hòa", "Thanh"),
    "male": ("Tuấn", "Hùng", "Dũng", "Nam", "Phúc", "Anh", "Long", "Quang", "Hải", "Sơn",
             "Thắng", "Cường", "Khánh", "Bình", "Tài", "Hiếu", "Việt", "Toàn", "Lộc", "Trung",
             "Bảo", "Chiến", "Định", "Giáp", "Hào", "Kiên", "Lâm", "Mạnh", "Nghĩa", "Phong",
             "Quý", "Sang", "Thịnh", "Tiến", "Vinh", "Xuyên", "Đạt", "Hưng", "Khoa", "Tùng",
             "An", "Bằng", "Cảnh", "Danh", "Dương", "Đông", "Hiệp", "Hòa", "Huy", "Kha",
             "Khải", "Khôi", "Lực", "Luân", "Minh", "Nhân", "Ninh", "Phát", "Quân", "Tâm",
             "Tân", "Thái", "Thành", "Thiện", "Thông", "Thuận", "Tín", "Trí", "Trọng", "Tú",
             "Uy", "Vũ", "Vương", "Bách", "Đăng", "Hiển", "Lợi", "Nhật", "Phước", "Sỹ"),
}  # fmt: skip
_VIET_FAMILY_SHARES = tuple(share for _, _, share in _VIET_FAMILY)
# Khmer family names are spread less unequally, but the first few are far more common
# than the last (Zipf-like shares, by the order of the table).
_KHMER_FAMILY_SHARES = tuple(1 / (rank + 1) ** 0.8 for rank in range(len(_KHMER_FAMILY)))
AGENCIES = (
    ("moi-dahtjp", "police_operation"),
    ("mosvy", "ngo_outreach"),
    ("ngo-aftercare", "ngo_outreach"),
    ("ngo-hotline", "hotline"),
    ("immigration-poipet", "border_or_deportation_screening"),
    ("embassy-bangkok", "embassy_or_consulate"),
)
_PURPOSES = ("sexual_exploitation", "forced_labour", "forced_begging", "forced_marriage")
# Where persons were exploited, by nationality and purpose (countries, shares): Khmer
# labour to Thailand and Malaysia, brides to China, Vietnamese persons mostly within
# Cambodia, as the source report describes the flows.
_DESTINATIONS: dict[tuple[str, str], tuple[tuple[str, ...], tuple[int, ...]]] = {
    ("KHM", "sexual_exploitation"): (("THA", "KHM", "MYS", "CHN", "VNM"), (40, 35, 15, 5, 5)),
    ("KHM", "forced_labour"): (("THA", "MYS", "KHM", "IDN", "SAU", "KOR"), (55, 15, 15, 5, 5, 5)),
    ("KHM", "forced_begging"): (("THA", "VNM", "KHM"), (60, 25, 15)),
    ("KHM", "forced_marriage"): (("CHN", "KHM", "MYS"), (85, 10, 5)),
    ("VNM", "sexual_exploitation"): (("KHM", "THA", "MYS", "CHN"), (70, 15, 10, 5)),
    ("VNM", "forced_labour"): (("KHM", "THA", "MYS", "CHN"), (60, 20, 10, 10)),
    ("VNM", "forced_begging"): (("KHM", "THA"), (85, 15)),
    ("VNM", "forced_marriage"): (("CHN", "KHM"), (90, 10)),
}  # fmt: skip
_COUNTRIES = ("THA", "KHM", "MYS", "CHN", "VNM", "IDN", "SAU", "KOR")
_PROVINCES = tuple(f"{code:02d}" for code in range(1, 26))


@dataclass(frozen=True)
class SyntheticRecord:
    """One agency's record of a person; ``person_key`` is the true identity."""

    person_key: str
    source_record_id: str
    organisation: str
    encounter_type: str
    given_name: str
    family_name: str
    given_name_khmer: str
    family_name_khmer: str
    sex: str
    birth_date: str
    birth_date_precision: str
    estimated_age: str
    nationality: str
    province_code: str
    encounter_date: str
    exploitation_type: str
    exploitation_country_code: str
    # For evaluation, like person_key: the group met together ("" for none) and the
    # person whose name (the family name at least) this person carries: their own key,
    # or the first of the relatives and namesakes met with them.
    group_key: str = ""
    name_of: str = ""


# Columns only the evaluation reads, never written to an export.
_TRUTH_COLUMNS = frozenset({"person_key", "group_key", "name_of"})


@dataclass(frozen=True)
class _Person:
    key: str
    sex: str
    nationality: str
    given: tuple[str, ...]
    family: tuple[str, ...]
    given_khmer: str | None
    family_khmer: str | None
    middle: str | None
    birth_date: date
    province: str
    purpose: str
    exploited_in: str
    name_of: str = ""


@dataclass(frozen=True)
class _Episode:
    """When and where a person was met: the day of the interception, raid or
    deportation, and its province; a group's key when many were met at once."""

    met: date
    province: str
    group: str = ""


_FIRST_DAY = date(2019, 1, 1)
_DAYS = 365 * 6
# A third of the persons are met in a group (a raid, a mass deportation) of 5 to 60.
_IN_A_GROUP = 0.33
_GROUP_SIZES = (5, 60)
# One person in eight is met again in a later episode, half a year to three years on.
_MET_AGAIN = 0.125
# Of the persons joining a group with members, how many are a member's relative or
# namesake, and of those: siblings (a tenth of them twins), the rest namesakes.
_RELATIVE_IN_GROUP = 0.25
_SIBLING = 0.5
_TWIN = 0.1
# How long after the episode each agency records the person (days, by share): the same
# day (a joint operation), within the week (the referral to MOSVY), within the month
# (an NGO's intake), months later (aftercare, a late registration).
_RECORDING_LAGS = ((0, 0), (1, 7), (8, 30), (31, 120), (121, 400))
_RECORDING_LAG_SHARES = (35, 25, 20, 12, 8)


class _Episodes:
    """Draws each person's episodes, filling groups met together before opening a new
    one."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.group: _Episode | None = None
        self.group_left = 0
        self.groups = 0
        self.members: list[_Person] = []

    def first(self) -> _Episode:
        rng = self.rng
        if rng.random() >= _IN_A_GROUP:
            return self._alone()
        if self.group is None or self.group_left == 0:
            self.groups += 1
            alone = self._alone()
            self.group = _Episode(alone.met, alone.province, f"G{self.groups:06d}")
            self.group_left = rng.randint(*_GROUP_SIZES)
            self.members = []
        self.group_left -= 1
        return self.group

    def joining(self, episode: _Episode, person: _Person) -> _Person:
        """``person``, or, in a group, now and then a relative or namesake of a member
        met with them; remembered as a member."""
        if not episode.group:
            return person
        if self.members and self.rng.random() < _RELATIVE_IN_GROUP:
            person = _relative(self.rng, person.key, self.rng.choice(self.members))
        self.members.append(person)
        return person

    def of(self, person: _Person, first: _Episode | None = None) -> list[_Episode]:
        """The episodes a person is met in: one, or two (met again later)."""
        episodes = [first or self.first()]
        if self.rng.random() < _MET_AGAIN:
            later = episodes[0].met + timedelta(days=self.rng.randrange(180, 1095))
            # Within the years the set covers: every record dated in the past.
            if later < _FIRST_DAY + timedelta(days=_DAYS):
                province = self.rng.choice((person.province, *_PROVINCES))
                episodes.append(_Episode(later, province))
        return episodes

    def _alone(self) -> _Episode:
        met = _FIRST_DAY + timedelta(days=self.rng.randrange(_DAYS))
        return _Episode(met, self.rng.choice(_PROVINCES))


def _recorded_on(rng: random.Random, episode: _Episode) -> date:
    low, high = rng.choices(_RECORDING_LAGS, weights=_RECORDING_LAG_SHARES)[0]
    return episode.met + timedelta(days=rng.randint(low, high))


def _person(rng: random.Random, key: str) -> _Person:
    born = date(1975, 1, 1) + timedelta(days=rng.randrange(365 * 37))
    if rng.random() < 0.72:
        given, given_khmer, sex = rng.choice(_KHMER_GIVEN)
        if rng.random() < 0.8:
            given, compound_khmer = _compound_given(rng)
            given_khmer = compound_khmer
        if rng.random() < 0.03:
            sex = "transgender"
        family, family_khmer = rng.choices(_KHMER_FAMILY, weights=_KHMER_FAMILY_SHARES)[0]
        purpose = rng.choice(_PURPOSES)
        return _Person(
            key, sex, "KHM", given, family, given_khmer, family_khmer, None, born,
            rng.choice(_PROVINCES), purpose, _destination(rng, "KHM", purpose),
        )  # fmt: skip
    sex = rng.choice(("female", "female", "male"))
    accented, plain, _ = rng.choices(_VIET_FAMILY, weights=_VIET_FAMILY_SHARES)[0]
    given_name = rng.choice(_VIET_GIVEN[sex])
    middles, middle_shares = _VIET_MIDDLE[sex]
    purpose = rng.choice(_PURPOSES)
    return _Person(
        key, sex, "VNM", (given_name,), (accented, plain), None, None,
        rng.choices(middles, weights=middle_shares)[0], born, rng.choice(_PROVINCES),
        purpose, _destination(rng, "VNM", purpose),
    )  # fmt: skip


def _relative(rng: random.Random, key: str, member: _Person) -> _Person:
    """Someone met with ``member``, in the same case: a sibling (the family name, another
    given name, born a few years apart or, for a twin, the same day) or a namesake (the
    whole name, a birth date of their own)."""
    if rng.random() < _SIBLING:
        born = member.birth_date
        if rng.random() >= _TWIN:
            born = _born_between(rng, born, rng.randint(1, 10) * rng.choice((-1, 1)))
        other = _person(rng, key)
        while other.given == member.given or other.nationality != member.nationality:
            other = _person(rng, key)
        return replace(
            other,
            family=member.family,
            family_khmer=member.family_khmer,
            middle=member.middle if member.nationality == "VNM" else other.middle,
            birth_date=born,
            province=member.province,
            purpose=member.purpose,
            exploited_in=member.exploited_in,
            name_of=member.name_of or member.key,
        )
    stranger = _person(rng, key)
    return replace(
        member, key=key, birth_date=stranger.birth_date, name_of=member.name_of or member.key
    )


def _born_between(rng: random.Random, born: date, years: int) -> date:
    # A sibling born ``years`` later (or earlier), on a day of their own, within the
    # years the generator draws births from.
    day = _in_year(born, born.year + years) + timedelta(days=rng.randrange(-150, 150))
    return min(max(day, date(1975, 1, 1)), date(2012, 12, 31))


def _destination(rng: random.Random, nationality: str, purpose: str) -> str:
    countries, shares = _DESTINATIONS[(nationality, purpose)]
    return rng.choices(countries, weights=shares)[0]


def _as_recorded(rng: random.Random, value: str, others: Sequence[str], *, kept: float) -> str:
    # An agency writes the case as it sees it: mostly as the others do, sometimes not
    # at all (the field left empty), sometimes otherwise (another reading of the case).
    roll = rng.random()
    if roll < kept:
        return value
    if roll < kept + (1 - kept) * 0.7:
        return ""
    return rng.choice([other for other in others if other != value])


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    at = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:
        return word[:at] + word[at + 1 :]
    if kind < 0.7:
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return word[:at] + rng.choice("aeioulnmrst") + word[at + 1 :]


def _strip_accents(text: str) -> str:
    from identification.person_index.domain.names import fold

    # Keep the capitals: fold() lower-cases, so re-capitalise each word.
    return " ".join(word.capitalize() for word in fold(text).split())


def _names(rng: random.Random, person: _Person, organisation: str) -> tuple[str, str, str, str]:
    khmer_given = khmer_family = ""
    if person.nationality == "VNM":
        family = person.family[0] if rng.random() < 0.5 else person.family[1]
        middle = person.middle or ""
        given = person.given[0]
        if rng.random() < 0.5:
            given, middle, family = (_strip_accents(w) for w in (given, middle, family))
        if rng.random() < 0.15:
            middle = ""
        # Middle name with the given name (Latin forms) or with the family name.
        if rng.random() < 0.7:
            given = f"{middle} {given}".strip()
        else:
            family = f"{family} {middle}".strip()
    else:
        given = person.given[0] if rng.random() < 0.55 else rng.choice(person.given)
        family = person.family[0] if rng.random() < 0.6 else rng.choice(person.family)
        writes_khmer = organisation in ("moi-dahtjp", "mosvy") and rng.random() < 0.5
        if writes_khmer and person.given_khmer and person.family_khmer:
            khmer_given, khmer_family = person.given_khmer, person.family_khmer
            if rng.random() < 0.4:
                given = family = ""  # in Khmer script only
    if given and rng.random() < 0.08:
        given = _typo(rng, given)
    elif family and rng.random() < 0.04:
        family = _typo(rng, family)
    if rng.random() < 0.25:
        given, family = family, given  # family name written where the given name goes
    return given, family, khmer_given, khmer_family


def _birth(rng: random.Random, born: date, met: date) -> tuple[str, str, str]:
    roll = rng.random()
    if roll < 0.62:
        return born.isoformat(), "day", ""
    if roll < 0.77:
        return date(born.year, 1, 1).isoformat(), "year", ""
    if roll < 0.85:
        return "", "", ""
    if roll < 0.92:
        age = met.year - born.year - rng.choice((-1, 0, 0, 1))
        return "", "estimated_age", str(max(age, 0))
    if roll < 0.97 and born.day <= 12:
        return date(born.year, born.day, born.month).isoformat(), "day", ""
    if roll < 0.97:
        slipped = born + timedelta(days=rng.choice((-1, 1)))  # the day mistyped by one
    else:
        slipped = _in_year(born, born.year + rng.choice((-1, 1)))  # the year mistyped
    return slipped.isoformat(), "day", ""


def _in_year(day: date, year: int) -> date:
    """The same day and month in another year (28 February for a 29th in a common year):
    one slip, not two."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def _province(rng: random.Random, person: _Person, episode: _Episode) -> str:
    # An agency writes the province the person comes from or the one they were met in
    # (a raid, a border post), now and then another (a typist's slip, a transfer).
    roll = rng.random()
    if roll < 0.5:
        return person.province
    if roll < 0.85:
        return episode.province
    return rng.choice(_PROVINCES)


def _records_per_person(rng: random.Random) -> int:
    return rng.choices((1, 2, 3, 4, 5), weights=(35, 30, 20, 10, 5))[0]


def generate(count: int, *, seed: int) -> list[SyntheticRecord]:
    """``count`` records of persons seen by one to five agencies, shuffled."""
    rng = random.Random(seed)
    episodes = _Episodes(rng)
    records: list[SyntheticRecord] = []
    number = 0
    while len(records) < count:
        number += 1
        person = _person(rng, f"P{seed}-{number:07d}")
        first = episodes.first()
        person = episodes.joining(first, person)
        agencies = rng.sample(AGENCIES, _records_per_person(rng))
        met_in = episodes.of(person, first)
        for organisation, encounter_type in agencies:
            episode = rng.choice(met_in)
            met = _recorded_on(rng, episode)
            given, family, given_khmer, family_khmer = _names(rng, person, organisation)
            birth_date, precision, estimated_age = _birth(rng, person.birth_date, met)
            records.append(
                SyntheticRecord(
                    person_key=person.key,
                    source_record_id=f"{organisation}-{len(records) + 1:08d}",
                    organisation=organisation,
                    encounter_type=encounter_type,
                    given_name=given,
                    family_name=family,
                    given_name_khmer=given_khmer,
                    family_name_khmer=family_khmer,
                    sex=person.sex if rng.random() > 0.01 else "unknown",
                    birth_date=birth_date,
                    birth_date_precision=precision,
                    estimated_age=estimated_age,
                    nationality=person.nationality if rng.random() > 0.02 else "",
                    province_code=_province(rng, person, episode),
                    encounter_date=met.isoformat(),
                    exploitation_type=_as_recorded(rng, person.purpose, _PURPOSES, kept=0.8),
                    exploitation_country_code=_as_recorded(
                        rng, person.exploited_in, _COUNTRIES, kept=0.7
                    ),
                    group_key=met_in[0].group,
                    name_of=person.name_of or person.key,
                )
            )
    rng.shuffle(records)
    return records[:count]


CANONICAL_COLUMNS = tuple(f.name for f in fields(SyntheticRecord) if f.name not in _TRUTH_COLUMNS)


def write_csv(records: Sequence[SyntheticRecord], path: Path) -> Path:
    """The records as a CSV in the canonical columns (mapping ``canonical.yaml``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CANONICAL_COLUMNS)
        writer.writeheader()
        for record in records:
            row = {
                name: value for name, value in asdict(record).items() if name in CANONICAL_COLUMNS
            }
            writer.writerow(row)
    return path


def true_pairs(records: Sequence[SyntheticRecord]) -> Iterator[tuple[int, int]]:
    """Index pairs of records that are the same person (for evaluation)."""
    by_person: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        by_person.setdefault(record.person_key, []).append(index)
    for members in by_person.values():
        for i, first in enumerate(members):
            for second in members[i + 1 :]:
                yield first, second
