"""Names as the matcher compares them: Khmer script romanised, Latin letters folded to a
phonetic form, and a coarse key for blocking.

Why a phonetic form of our own and not Soundex or Metaphone: those are built for English
spelling. Khmer names reach us romanised by many hands (there is no one system in use:
"Sokha", "Sokhar", "Sok Kha"; "Chhay", "Chay"; "Vannak", "Vanak") and Vietnamese names
with or without diacritics. The variation is regular, so folding it is a short table:

1. Khmer script is romanised letter by letter (:func:`romanise_khmer`): consonants by the
   common UNGEGN-like values, the inherent vowel written ``a``, subscripts (coeng) as
   plain consonants, the final ``ៈ`` as the glottal ``k`` it is usually written with.
2. Latin text is stripped of diacritics (``Nguyễn`` -> ``nguyen``, ``đ`` -> ``d``) and
   case-folded.
3. Spelling variants that sound alike are folded (:func:`phonetic_form`): aspirated and
   plain stops (``chh``/``ch``/``j``, ``kh``/``k``/``g``/``c``, ``th``/``t``/``d``,
   ``ph``/``p``/``b``/``f``), ``w``/``v``, a final ``r`` or ``h`` (written to lengthen
   the vowel), doubled letters, ``u``/``o`` (Khmer ``ុ`` is written both ways),
   ``y`` inside a word as ``i``, and each run of vowels to its last vowel
   (``ea`` -> ``a``, ``ey`` -> ``i``).
4. The blocking key (:func:`skeleton`) keeps only the consonants of the phonetic form.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Khmer consonants (U+1780-U+17A2), romanised.
_KHMER_CONSONANTS = {
    "ក": "k", "ខ": "kh", "គ": "k", "ឃ": "kh", "ង": "ng",
    "ច": "ch", "ឆ": "chh", "ជ": "ch", "ឈ": "chh", "ញ": "nh",
    "ដ": "d", "ឋ": "th", "ឌ": "d", "ឍ": "th", "ណ": "n",
    "ត": "t", "ថ": "th", "ទ": "t", "ធ": "th", "ន": "n",
    "ប": "b", "ផ": "ph", "ព": "p", "ភ": "ph", "ម": "m",
    "យ": "y", "រ": "r", "ល": "l", "វ": "v", "ស": "s",
    "ហ": "h", "ឡ": "l", "អ": "",
}  # fmt: skip
# Independent and dependent vowels, and the signs that sound.
_KHMER_VOWELS = {
    "ឥ": "e", "ឦ": "ei", "ឧ": "o", "ឩ": "ou", "ឪ": "au", "ឫ": "rue", "ឬ": "rue",
    "ឭ": "lue", "ឮ": "lue", "ឯ": "ae", "ឰ": "ai", "ឱ": "ao", "ឲ": "ao", "ឳ": "au",
    "ា": "a", "ិ": "i", "ី": "ei", "ឹ": "oe", "ឺ": "eu", "ុ": "o", "ូ": "ou",
    "ួ": "uo", "ើ": "aeu", "ឿ": "oea", "ៀ": "ie", "េ": "e", "ែ": "ae", "ៃ": "ai",
    "ោ": "ao", "ៅ": "au", "ំ": "m", "ះ": "h", "ៈ": "ak", "័": "a",
}  # fmt: skip
_KHMER_BLOCK = re.compile(r"[\u1780-\u17ff]")
_KHMER_BLOCK_CHARS = frozenset(chr(code) for code in range(0x1780, 0x1800))
_COENG = "\u17d2"  # the next consonant is written below it: a cluster
_SILENT_SIGNS = frozenset("\u17c9\u17ca\u17cb\u17cc\u17cd\u17ce\u17cf\u17d1")

# Folding of Latin spellings, applied in this order (longest first where they overlap).
_FOLDS: tuple[tuple[str, str], ...] = (
    ("chh", "C"), ("ch", "C"), ("tr", "C"), ("j", "C"),
    ("kh", "k"), ("gh", "k"), ("ng", "N"), ("nh", "Y"), ("gn", "Y"),
    ("ph", "p"), ("th", "t"), ("qu", "kv"),
    ("c", "k"), ("q", "k"), ("g", "k"), ("b", "p"), ("f", "p"), ("d", "t"),
    ("w", "v"), ("z", "s"), ("x", "s"), ("u", "o"),
)  # fmt: skip
_VOWELS = frozenset("aeiouy")
# A final r or h lengthens the vowel ("Sokhar"); a final written r is silent in Khmer
# ("Pich", ពេជ្រ); a final v after a vowel is the o-glide ("Keo", កែវ).
_FINAL_LENGTHENERS = re.compile(r"(?<=[aeiouy])h+$|r+$")
_FINAL_GLIDE = re.compile(r"(?<=[aeiouy])v$")
_NOT_LETTER = re.compile(r"[^a-zA-Z]+")


def has_khmer(text: str) -> bool:
    """Whether ``text`` holds any Khmer script."""
    return bool(_KHMER_BLOCK.search(text))


def romanise_khmer(text: str) -> str:
    """Khmer script written in Latin letters; other characters are kept, so a mixed name
    romanises its Khmer part only.

    The inherent vowel is written ``a`` where a consonant opens a syllable with no vowel
    sign: at the start of a word (វណ្ណ "vann"), after a closed syllable, or before a
    word's last consonant (សុផល "sophal"); a consonant after a vowel, before another
    syllable, closes its syllable (សុខសុភា "sok-sopha").
    """
    characters = unicodedata.normalize("NFC", text)
    out: list[str] = []
    after_vowel = False
    index = 0
    while index < len(characters):
        character = characters[index]
        if character in _KHMER_CONSONANTS:
            end = _cluster_end(characters, index)
            out.append("".join(_KHMER_CONSONANTS[c] for c in characters[index:end:2]))
            opens = _opens_syllable(characters, end, after_vowel)
            if opens:
                out.append("a")
            after_vowel = opens
            index = end
            continue
        if character in _KHMER_VOWELS:
            out.append(_KHMER_VOWELS[character])
            after_vowel = True
        elif not _KHMER_BLOCK.match(character):
            out.append(character)
            after_vowel = False
        index += 1  # register and tone signs have no sound of their own
    return "".join(out)


def _cluster_end(characters: str, index: int) -> int:
    """Past a consonant and its subscripts (coeng + consonant pairs)."""
    end = index + 1
    while end + 1 < len(characters) and characters[end] == _COENG:
        end += 2
    while end < len(characters) and characters[end] in _SILENT_SIGNS:
        end += 1
    return end


def _opens_syllable(characters: str, end: int, after_vowel: bool) -> bool:
    """Whether the consonant cluster ending at ``end`` takes the inherent vowel."""
    following = characters[end] if end < len(characters) else ""
    if following not in _KHMER_CONSONANTS:
        return False  # a vowel sign follows, or the word ends on this consonant
    if not after_vowel:
        return True
    next_end = _cluster_end(characters, end)
    return next_end >= len(characters) or characters[next_end] not in _KHMER_BLOCK_CHARS


def fold(text: str) -> str:
    """Lower-case Latin letters without diacritics (Khmer romanised first)."""
    if has_khmer(text):
        text = romanise_khmer(text)
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()


def tokens(text: str) -> list[str]:
    """The name's words, folded; punctuation and digits separate words."""
    return [token for token in _NOT_LETTER.split(fold(text)) if token]


def phonetic_form(token: str) -> str:
    """One folded word in the phonetic form the matcher compares (see the module doc)."""
    word = _FINAL_GLIDE.sub("o", _FINAL_LENGTHENERS.sub("", token.lower()))
    for spelling, sound in _FOLDS:
        word = word.replace(spelling, sound)
    # Left over: aspiration marks that were not digraphs; a word's first h is a sound
    # ("Heng", "Ho", "Hieu"), and without it short names collapse into one another.
    word = word[:1] + word[1:].replace("h", "")
    out: list[str] = []
    for character in word:
        if character == "y" and out:
            character = "i"  # a y inside a word is a vowel ("Chhay", "Srey", "Rithy")
        if out and character in _VOWELS and out[-1] in _VOWELS:
            out[-1] = character  # a vowel run sounds as its last vowel ("Sophea": a)
        elif not out or character != out[-1]:
            out.append(character)  # doubled letters once
    return "".join(out)


@lru_cache(maxsize=1 << 17)
def skeleton(form: str) -> str:
    """The consonants of a phonetic form (a vowel-initial word keeps an ``A``). Words
    repeat from record to record: each is worked out once."""
    if not form:
        return ""
    start = "A" if form[0] in _VOWELS else ""
    return start + "".join(c for c in form if c not in _VOWELS)


_DOUBLED = re.compile(r"(.)\1+")


def run_together(words: Iterable[str]) -> str:
    """Words written as one, a letter doubled at a join written once ("Sok Kha": soka)."""
    return _DOUBLED.sub(r"\1", "".join(words))


@dataclass(frozen=True)
class NameVariant:
    """One way the person's name was written, as words in the order given: phonetic
    forms (:func:`phonetic_form`), or for a Vietnamese name, the letters as written
    without diacritics (``plain``): Vietnamese spelling is fixed, and its vowels tell
    names apart that a phonetic form would merge ("Lan" / "Loan", "Thu" / "Tho")."""

    words: tuple[str, ...]
    plain: bool = False
    # False when a part of the name was written without a letter ("{{7*7}}", "???"):
    # what is left is part of a name, and agrees with another at most weakly.
    complete: bool = True

    @property
    def phonetic(self) -> NameVariant:
        """The same name in phonetic forms (to compare with a name of another script)."""
        return self if not self.plain else _phonetic(self.words, self.complete)

    @property
    def skeletons(self) -> tuple[str, ...]:
        return tuple(skeleton(word) for word in self.phonetic.words)


@lru_cache(maxsize=1 << 16)
def _phonetic(words: tuple[str, ...], complete: bool = True) -> NameVariant:
    # Names repeat: each distinct plain name is folded once.
    return NameVariant(
        tuple(form for word in words if (form := phonetic_form(word))), complete=complete
    )


def name_variant(*parts: str | None, plain: bool = False) -> NameVariant | None:
    """The words of a name given in parts (given, family...): phonetic forms, or the
    folded letters when ``plain`` (a Vietnamese name); None if empty."""
    written = [part for part in parts if part and part.strip()]
    complete = all(any(character.isalpha() for character in part) for part in written)
    if plain:
        words = tuple(token for part in parts if part for token in tokens(part))
    else:
        words = tuple(
            form
            for part in parts
            if part
            for token in tokens(part)
            if (form := phonetic_form(token))
        )
    return NameVariant(words, plain, complete) if words else None


# Names of these nationalities are compared letter for letter (diacritics folded).
PLAIN_SPELLING_NATIONALITIES = frozenset({"VNM"})


def name_variants(
    *,
    given_name: str | None,
    family_name: str | None,
    given_name_khmer: str | None = None,
    family_name_khmer: str | None = None,
    aliases: Sequence[str] = (),
    nationality: str | None = None,
) -> list[NameVariant]:
    """Every way the record writes the name: Latin, Khmer script, each alias; distinct.
    A Vietnamese person's Latin names are kept as spelt (see :class:`NameVariant`)."""
    plain = nationality in PLAIN_SPELLING_NATIONALITIES
    candidates: Iterable[NameVariant | None] = (
        name_variant(given_name, family_name, plain=plain),
        name_variant(given_name_khmer, family_name_khmer),
        *(name_variant(alias, plain=plain) for alias in aliases),
    )
    return list(dict.fromkeys(variant for variant in candidates if variant is not None))
