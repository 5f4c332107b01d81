from __future__ import annotations

from datetime import date

import pytest

from linli.people.models import Gender, HouseholdRole, SpecialGroup
from linli.people.validation import (
    clean_birth_date,
    clean_gender,
    clean_groups,
    clean_household_role,
    clean_id_number,
    clean_phone,
    id_number_birth_date,
    id_number_gender,
)


@pytest.mark.parametrize("value", ["11010519491231002X", "11010519491231002x", "440524188001010014", " 110105 1949 1231 002X "])
def test_valid_id_numbers_pass_gb11643(value: str) -> None:
    assert clean_id_number(value) == "".join(value.split()).upper()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("110105194912310021", "校验位"),  # last character changed
        ("11010519491231002", "18 位"),
        ("1101051949123100XX", "18 位"),
        ("110105194913310024", "出生日期"),  # month 13
        ("110105299912310028", "出生日期"),  # in the future
    ],
)
def test_invalid_id_numbers_are_refused_with_a_reason(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clean_id_number(value)


def test_id_number_carries_birth_date_and_gender() -> None:
    assert id_number_birth_date("11010519491231002X") == date(1949, 12, 31)
    assert id_number_gender("11010519491231002X") == Gender.FEMALE  # 17th digit 2: even
    assert id_number_gender("440524188001010014") == Gender.MALE


@pytest.mark.parametrize("value", ["13800138000", "+86 138-0013-8000", 13800138000, 13800138000.0])
def test_mainland_mobiles(value: object) -> None:
    assert clean_phone(value) == "13800138000"


@pytest.mark.parametrize("value", ["1380013800", "12800138000", "010-12345678", "1380013800a"])
def test_not_mobiles(value: str) -> None:
    with pytest.raises(ValueError, match="11 位"):
        clean_phone(value)


def test_gender_relation_and_groups_accept_chinese_and_english() -> None:
    assert clean_gender("男") == clean_gender("M") == Gender.MALE
    assert clean_household_role("户主") == clean_household_role("head") == HouseholdRole.HEAD
    assert clean_groups("独居老人、低保;elderly_alone") == [(SpecialGroup.ELDERLY_ALONE, ""), (SpecialGroup.DIBAO, "")]
    assert clean_groups("其他:重点关注") == [(SpecialGroup.OTHER, "重点关注")]
    with pytest.raises(ValueError, match="无法识别"):
        clean_groups("外星人")
    with pytest.raises(ValueError, match="无法识别"):
        clean_household_role("邻居")


def test_birth_dates_in_common_spellings() -> None:
    for text in ("1980-01-31", "1980/1/31", "19800131", "1980年1月31日"):
        assert clean_birth_date(text) == date(1980, 1, 31)
    with pytest.raises(ValueError):
        clean_birth_date("31/01/1980")
