"""Names as the person index compares them: Khmer script and its romanisations, and
Vietnamese with or without diacritics, reach the same phonetic form."""

from __future__ import annotations

import pytest

from identification.names import name_variant, name_variants, romanise_khmer, run_together


@pytest.mark.parametrize(
    "spellings",
    [
        ("Sokha", "Sokhar", "សុខា"),
        ("Chhay", "Chay", "ឆាយ"),
        ("Vannak", "Vanak", "វណ្ណៈ"),
        ("Chan", "Chann", "ចាន់"),
        ("Sophea", "Sophia", "សុភា"),
        ("Keo", "Keov", "កែវ"),
        ("Nguyễn Thị Lan", "Nguyen Thi Lan", "NGUYEN THI LAN"),
    ],
)
def test_spellings_of_one_name_share_a_phonetic_form(spellings: tuple[str, ...]) -> None:
    forms = {name_variant(spelling) for spelling in spellings}
    assert len(forms) == 1, forms


def test_a_name_split_in_two_words_keeps_its_consonants() -> None:
    split, whole = name_variant("Sok Kha"), name_variant("Sokha")
    assert split is not None and whole is not None
    assert run_together(split.words) == run_together(whole.words)


def test_a_vowel_spelt_differently_keeps_the_blocking_skeleton() -> None:
    latin, khmer = name_variant("Pich"), name_variant("ពេជ្រ")
    assert latin is not None and khmer is not None
    assert latin.skeletons == khmer.skeletons


@pytest.mark.parametrize(
    ("khmer", "latin"),
    [("វណ្ណ", "vann"), ("សុខសុផល", "sokhsophal"), ("ចន្ថា", "chantha"), ("ប្រាក់", "brak")],
)
def test_khmer_takes_the_inherent_vowel_only_where_a_syllable_opens(khmer: str, latin: str) -> None:
    assert romanise_khmer(khmer) == latin


def test_different_names_stay_different() -> None:
    assert name_variant("Sokha") != name_variant("Sophea")
    assert name_variant("Chan") != name_variant("Chea")


def test_every_way_a_record_writes_the_name_is_a_variant() -> None:
    variants = name_variants(
        given_name="Sreymom",
        family_name="Keo",
        given_name_khmer="ស្រីមុំ",
        family_name_khmer="កែវ",
        aliases=["Mom"],
    )
    assert [variant.words for variant in variants] == [("srimom", "ko"), ("mom",)]
