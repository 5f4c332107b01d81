from __future__ import annotations

import base64
import hashlib

import pytest
from django.core.exceptions import FieldError
from django.db import connection
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from linli.accounts.models import User
from linli.accounts.services import user_create
from linli.core import crypto
from linli.core.crypto import DecryptionError, decrypt, encrypt, lookup_hash, mask, normalise

OTHER_KEY = bytes(range(32))


def test_round_trip_keeps_the_text() -> None:
    plain = "张三 110101199003071234 ✓"
    token = encrypt(plain)
    assert token.startswith("v1:")
    assert "张三" not in token and "1234" not in token
    assert decrypt(token) == plain


@given(st.text())
def test_round_trip_for_any_text(plain: str) -> None:
    assert decrypt(encrypt(plain)) == plain


def test_the_same_value_seals_differently_each_time() -> None:
    assert encrypt("13800138000") != encrypt("13800138000")


def test_a_changed_byte_is_detected() -> None:
    token = encrypt("13800138000")
    raw = bytearray(base64.urlsafe_b64decode(token[3:]))
    raw[-1] ^= 0x01
    tampered = "v1:" + base64.urlsafe_b64encode(bytes(raw)).decode("ascii")
    with pytest.raises(DecryptionError):
        decrypt(tampered)


@pytest.mark.parametrize("token", ["", "13800138000", "v2:AAAA", "v1:", "v1:not*base64", "v1:AAAA", "v1:密文"])
def test_what_is_not_a_sealed_value_does_not_open(token: str) -> None:
    with pytest.raises(DecryptionError):
        decrypt(token)


def test_a_value_sealed_under_another_key_does_not_open() -> None:
    token = encrypt("13800138000")
    with override_settings(FIELD_ENCRYPTION_KEY=OTHER_KEY), pytest.raises(DecryptionError):
        decrypt(token)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13800138000", "138****8000"),
        ("110101199003071234", "110***********1234"),
        ("1234567", "1******"),
        ("王五", "王*"),
        ("x", "x"),
        ("", ""),
    ],
)
def test_mask_keeps_enough_to_recognise(value: str, masked: str) -> None:
    assert mask(value) == masked


def test_mask_never_shows_the_middle() -> None:
    assert mask("110101199003071234", keep_start=0, keep_end=4) == "*" * 14 + "1234"


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        (" 13800138000\n", "13800138000"),
        ("11010119900307123x", "11010119900307123X"),
    ],
)
def test_lookup_hash_ignores_spacing_dashes_and_case(variant: str, canonical: str) -> None:
    assert normalise(variant) == canonical
    assert lookup_hash(variant) == lookup_hash(canonical)


def test_lookup_hash_is_keyed() -> None:
    digest = lookup_hash("13800138000")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest != lookup_hash("13800138001")
    # A plain hash of a phone number is a dictionary lookup away from the number.
    assert digest != hashlib.sha256(b"13800138000").hexdigest()
    with override_settings(FIELD_ENCRYPTION_KEY=OTHER_KEY):
        assert lookup_hash("13800138000") != digest


def test_new_field_key_is_32_random_bytes() -> None:
    key = crypto.new_field_key()
    assert len(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))) == 32
    assert key != crypto.new_field_key()


def _raw_phone(user: User) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM accounts_user WHERE id = %s", [user.pk])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_encrypted_field_stores_ciphertext_and_reads_plain_text() -> None:
    user = user_create(username="zhangsan", password=None, phone="138 0013 8000")
    raw = _raw_phone(user)
    assert raw.startswith("v1:")
    assert "13800138000" not in raw and "8000" not in raw
    assert decrypt(raw) == "13800138000"
    fresh = User.objects.get(pk=user.pk)
    assert fresh.phone == "13800138000"
    assert fresh.phone_hash == lookup_hash("13800138000")
    assert User.objects.get(phone_hash=lookup_hash("138-0013-8000")) == user


@pytest.mark.django_db
def test_encrypted_field_keeps_empty_values_empty() -> None:
    user = user_create(username="nophone", password=None)
    assert _raw_phone(user) == ""
    assert User.objects.get(pk=user.pk).phone == ""


@pytest.mark.django_db
def test_a_stored_value_altered_in_the_database_fails_loudly() -> None:
    user = user_create(username="lisi", password=None, phone="13900139000")
    token = _raw_phone(user)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_user SET phone = %s WHERE id = %s", [token[:-4] + "AAAA", user.pk])
    with pytest.raises(DecryptionError):
        User.objects.get(pk=user.pk)


@pytest.mark.django_db
def test_encrypted_field_refuses_filters_that_could_never_match() -> None:
    user_create(username="wangwu", password=None, phone="13700137000")
    user_create(username="nophone2", password=None)
    with pytest.raises(FieldError, match="lookup_hash"):
        list(User.objects.filter(phone="13700137000"))
    with pytest.raises(FieldError):
        list(User.objects.filter(phone__icontains="137"))
    with pytest.raises(FieldError):
        list(User.objects.filter(phone__in=["13700137000"]))
    # What can be answered without the plain value still works.
    assert list(User.objects.filter(phone="").values_list("username", flat=True)) == ["nophone2"]
    assert list(User.objects.exclude(phone="").values_list("username", flat=True)) == ["wangwu"]
    assert User.objects.filter(phone__isnull=True).count() == 0
