"""Tests for app.rules.validation (pure Python, no app context needed)."""

import ast
import random
from decimal import Decimal
from pathlib import Path

import pytest

from app.rules import validation

v = validation
ValidationError = v.ValidationError

SBER_BIK = "044525225"
SBER_CORR = "30101810400000000225"


def rnd_digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def rnd_bik(rng):
    return "04" + rnd_digits(rng, 7)


def flip_digit(value, index):
    """Return ``value`` with the digit at ``index`` changed (by +1 mod 10)."""
    return value[:index] + str((int(value[index]) + 1) % 10) + value[index + 1:]


def assert_error(message, func, *args, **kwargs):
    with pytest.raises(ValidationError) as exc:
        func(*args, **kwargs)
    assert exc.value.message == message
    assert str(exc.value) == message


# --------------------------------------------------------------------------
# ValidationError and messages
# --------------------------------------------------------------------------

def test_validation_error_is_value_error_with_message():
    err = ValidationError("boom")
    assert isinstance(err, ValueError)
    assert err.message == "boom"
    assert str(err) == "boom"


def test_marker_is_noop_and_messages_are_distinct_strings():
    assert v.N_("text") == "text"
    messages = [getattr(v, name) for name in dir(v) if name.startswith("MSG_")]
    assert all(isinstance(m, str) and m for m in messages)
    assert len(set(messages)) == len(messages)


def test_module_imports_only_the_standard_library_and_phonenumbers():
    """Plain rules: no Flask, no database; phone numbers are read by phonenumbers."""
    tree = ast.parse(Path(v.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"re", "decimal", "phonenumbers"}


@pytest.mark.parametrize("func", [
    v.validate_inn, v.validate_kpp, v.validate_ogrn, v.validate_bik,
    v.validate_email, v.validate_phone, v.validate_non_negative,
])
@pytest.mark.parametrize("empty", [None, "", "   ", "\t\n"])
def test_empty_values_are_valid(func, empty):
    assert func(empty) is None


@pytest.mark.parametrize("func", [v.validate_account, v.validate_corr_account])
@pytest.mark.parametrize("empty", [None, "", "  "])
def test_empty_accounts_are_valid_even_without_bik(func, empty):
    assert func(empty, SBER_BIK) is None
    assert func(empty, "") is None


# --------------------------------------------------------------------------
# INN
# --------------------------------------------------------------------------

@pytest.mark.parametrize("inn", ["7707083893", " 7707083893 ", "500100732259"])
def test_inn_valid(inn):
    assert v.validate_inn(inn) is None


def test_inn_kind():
    assert v.validate_inn("7707083893", kind="company") is None
    assert v.validate_inn("500100732259", kind="person") is None
    assert v.validate_inn("500100732259", kind="ip") is None
    assert_error(v.MSG_INN_COMPANY_LENGTH, v.validate_inn, "500100732259", kind="company")
    assert_error(v.MSG_INN_PERSON_LENGTH, v.validate_inn, "7707083893", kind="person")


def test_inn_unknown_kind_is_programming_error():
    with pytest.raises(ValueError) as exc:
        v.validate_inn("7707083893", kind="bank")
    assert not isinstance(exc.value, ValidationError)


@pytest.mark.parametrize("inn", ["77070838a3", "7707-08389", "77070 83893", "７７０７０８３８９３", "+707083893"])
def test_inn_not_digits(inn):
    assert_error(v.MSG_INN_DIGITS, v.validate_inn, inn)


@pytest.mark.parametrize("inn", ["770708389", "77070838930", "5001007322590", "1"])
def test_inn_wrong_length(inn):
    assert_error(v.MSG_INN_LENGTH, v.validate_inn, inn)


@pytest.mark.parametrize("inn", ["7707083894", "7707083883", "500100732258", "500100732269", "500100732249"])
def test_inn_bad_checksum(inn):
    assert_error(v.MSG_INN_CHECKSUM, v.validate_inn, inn)


def test_inn_every_single_digit_flip_is_detected():
    for inn in ("7707083893", "500100732259"):
        for i in range(len(inn)):
            bad = flip_digit(inn, i)
            with pytest.raises(ValidationError):
                v.validate_inn(bad)


def test_make_valid_inn_examples():
    assert v.make_valid_inn("770708389") == "7707083893"
    assert v.make_valid_inn("770708389", length=10) == "7707083893"
    assert v.make_valid_inn("5001007322", length=12) == "500100732259"


def test_make_valid_inn_round_trip():
    rng = random.Random(20240101)
    for _ in range(500):
        inn10 = v.make_valid_inn(rnd_digits(rng, 9))
        inn12 = v.make_valid_inn(rnd_digits(rng, 10), length=12)
        assert len(inn10) == 10 and len(inn12) == 12
        assert v.validate_inn(inn10, kind="company") is None
        assert v.validate_inn(inn12, kind="person") is None
        assert_error(v.MSG_INN_CHECKSUM, v.validate_inn, flip_digit(inn10, 9))
        assert_error(v.MSG_INN_CHECKSUM, v.validate_inn, flip_digit(inn12, 11))


@pytest.mark.parametrize("args", [("77070838",), ("7707083893",), ("77070838x",),
                                  ("770708389", 12), ("5001007322", 10), ("770708389", 11)])
def test_make_valid_inn_rejects_bad_body(args):
    with pytest.raises(ValueError):
        v.make_valid_inn(*args)


# --------------------------------------------------------------------------
# KPP
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kpp", ["773601001", "7736AB001", "77360Z001", " 773601001 "])
def test_kpp_valid(kpp):
    assert v.validate_kpp(kpp) is None


@pytest.mark.parametrize("kpp", [
    "77360100",     # too short
    "7736010011",   # too long
    "7736ab001",    # lower-case letters
    "A73601001",    # letter in the first 4 digits
    "77360100A",    # letter in the last 3 digits
    "7736АВ001",    # Cyrillic look-alikes
    "7736 01001",
])
def test_kpp_invalid(kpp):
    assert_error(v.MSG_KPP_FORMAT, v.validate_kpp, kpp)


# --------------------------------------------------------------------------
# OGRN / OGRNIP
# --------------------------------------------------------------------------

@pytest.mark.parametrize("ogrn", ["1027700132195", "304500116000157", " 1027700132195\n"])
def test_ogrn_valid(ogrn):
    assert v.validate_ogrn(ogrn) is None


def test_ogrn_kind():
    assert v.validate_ogrn("1027700132195", "company") is None
    assert v.validate_ogrn("304500116000157", "person") is None
    assert v.validate_ogrn("304500116000157", kind="ip") is None
    assert_error(v.MSG_OGRN_COMPANY_LENGTH, v.validate_ogrn, "304500116000157", "company")
    assert_error(v.MSG_OGRNIP_LENGTH, v.validate_ogrn, "1027700132195", "ip")
    assert_error(v.MSG_OGRNIP_LENGTH, v.validate_ogrn, "1027700132195", "person")
    with pytest.raises(ValueError):
        v.validate_ogrn("1027700132195", "bank")


@pytest.mark.parametrize("ogrn", ["10277001321O5", "1027700-132195", "1027700132195a"])
def test_ogrn_not_digits(ogrn):
    assert_error(v.MSG_OGRN_DIGITS, v.validate_ogrn, ogrn)


@pytest.mark.parametrize("ogrn", ["102770013219", "10277001321950", "3045001160001570"])
def test_ogrn_wrong_length(ogrn):
    assert_error(v.MSG_OGRN_LENGTH, v.validate_ogrn, ogrn)


@pytest.mark.parametrize("ogrn", ["1027700132196", "1027700132185", "304500116000158", "304500116000167"])
def test_ogrn_bad_checksum(ogrn):
    assert_error(v.MSG_OGRN_CHECKSUM, v.validate_ogrn, ogrn)


def test_make_valid_ogrn_examples():
    assert v.make_valid_ogrn("102770013219") == "1027700132195"
    assert v.make_valid_ogrnip("30450011600015") == "304500116000157"


def test_make_valid_ogrn_round_trip():
    rng = random.Random(42)
    for _ in range(500):
        ogrn = v.make_valid_ogrn(rnd_digits(rng, 12))
        ogrnip = v.make_valid_ogrnip(rnd_digits(rng, 14))
        assert v.validate_ogrn(ogrn, "company") is None
        assert v.validate_ogrn(ogrnip, "ip") is None
        assert_error(v.MSG_OGRN_CHECKSUM, v.validate_ogrn, flip_digit(ogrn, 12))
        assert_error(v.MSG_OGRN_CHECKSUM, v.validate_ogrn, flip_digit(ogrnip, 14))


@pytest.mark.parametrize("func, body", [
    (v.make_valid_ogrn, "10277001321"), (v.make_valid_ogrn, "1027700132195"),
    (v.make_valid_ogrn, "10277001321x"), (v.make_valid_ogrnip, "3045001160001"),
    (v.make_valid_ogrnip, "304500116000157"),
])
def test_make_valid_ogrn_rejects_bad_body(func, body):
    with pytest.raises(ValueError):
        func(body)


# --------------------------------------------------------------------------
# BIK
# --------------------------------------------------------------------------

@pytest.mark.parametrize("bik", [SBER_BIK, "044030653", " 040000000 "])
def test_bik_valid(bik):
    assert v.validate_bik(bik) is None


def test_bik_errors():
    assert_error(v.MSG_BIK_DIGITS, v.validate_bik, "04452522a")
    assert_error(v.MSG_BIK_LENGTH, v.validate_bik, "04452522")
    assert_error(v.MSG_BIK_LENGTH, v.validate_bik, "0445252250")
    assert_error(v.MSG_BIK_PREFIX, v.validate_bik, "144525225")
    assert_error(v.MSG_BIK_PREFIX, v.validate_bik, "054525225")


# --------------------------------------------------------------------------
# Settlement and correspondent accounts
# --------------------------------------------------------------------------

def test_account_valid_for_sberbank():
    account = v.make_valid_account(SBER_BIK, "40702810" + "38000000001")
    assert account[:8] == "40702810" and account[9:] == "38000000001"
    assert v.validate_account(account, SBER_BIK) is None
    assert v.validate_account(" %s " % account, " %s " % SBER_BIK) is None
    # Computed independently: the control digit for this body is 9.
    assert account == "40702810938000000001"


def test_account_errors():
    account = "40702810938000000001"
    assert_error(v.MSG_ACCOUNT_DIGITS, v.validate_account, "4070281093800000000A", SBER_BIK)
    assert_error(v.MSG_ACCOUNT_LENGTH, v.validate_account, account[:-1], SBER_BIK)
    assert_error(v.MSG_ACCOUNT_LENGTH, v.validate_account, account + "0", SBER_BIK)
    assert_error(v.MSG_ACCOUNT_CHECKSUM, v.validate_account, flip_digit(account, 8), SBER_BIK)
    assert_error(v.MSG_ACCOUNT_CHECKSUM, v.validate_account, flip_digit(account, 19), SBER_BIK)
    # Same account, other bank (different last 3 BIK digits): checksum fails.
    assert_error(v.MSG_ACCOUNT_CHECKSUM, v.validate_account, account, "044525226")


@pytest.mark.parametrize("bik", [None, "", "04452522", "144525225", "04452522x"])
def test_account_needs_valid_bik(bik):
    assert_error(v.MSG_ACCOUNT_NEEDS_BIK, v.validate_account, "40702810938000000001", bik)
    assert_error(v.MSG_ACCOUNT_NEEDS_BIK, v.validate_corr_account, SBER_CORR, bik)


def test_corr_account_valid_for_sberbank():
    assert v.validate_corr_account(SBER_CORR, SBER_BIK) is None
    assert v.make_valid_corr_account(SBER_BIK) == SBER_CORR


def test_corr_account_errors():
    assert_error(v.MSG_ACCOUNT_DIGITS, v.validate_corr_account, "3010181040000000022x", SBER_BIK)
    assert_error(v.MSG_ACCOUNT_LENGTH, v.validate_corr_account, SBER_CORR[:-1], SBER_BIK)
    assert_error(v.MSG_CORR_PREFIX, v.validate_corr_account, "40702810938000000001", SBER_BIK)
    assert_error(v.MSG_ACCOUNT_CHECKSUM, v.validate_corr_account, flip_digit(SBER_CORR, 8), SBER_BIK)
    assert_error(v.MSG_ACCOUNT_CHECKSUM, v.validate_corr_account, SBER_CORR, "044535225")


def test_settlement_and_corr_keys_differ():
    # The corr account checks against '0' + BIK[4:6], not the last 3 digits.
    assert_error(v.MSG_ACCOUNT_CHECKSUM, v.validate_account, SBER_CORR, SBER_BIK)


def test_make_valid_account_round_trip():
    rng = random.Random(7)
    for _ in range(500):
        bik = rnd_bik(rng)
        body = rnd_digits(rng, 19)
        account = v.make_valid_account(bik, body)
        assert len(account) == 20
        assert account[:8] + account[9:] == body
        assert v.validate_account(account, bik) is None
        assert_error(v.MSG_ACCOUNT_CHECKSUM, v.validate_account, flip_digit(account, 8), bik)
        assert_error(v.MSG_ACCOUNT_CHECKSUM, v.validate_account,
                     flip_digit(account, rng.randrange(20)), bik)


def test_make_valid_account_fixes_20_digit_account():
    rng = random.Random(11)
    for _ in range(200):
        bik = rnd_bik(rng)
        raw = rnd_digits(rng, 20)
        account = v.make_valid_account(bik, raw)
        assert account[:8] == raw[:8] and account[9:] == raw[9:]
        assert v.validate_account(account, bik) is None


def test_make_valid_corr_account_round_trip():
    rng = random.Random(13)
    for _ in range(500):
        bik = rnd_bik(rng)
        corr = v.make_valid_corr_account(bik)
        assert corr.startswith("30101810") and corr.endswith(bik[-3:])
        assert v.validate_corr_account(corr, bik) is None
        assert_error(v.MSG_ACCOUNT_CHECKSUM, v.validate_corr_account, flip_digit(corr, 8), bik)


@pytest.mark.parametrize("args", [("04452522", "4070281003800000000"),
                                  (SBER_BIK, "407028100380000000"),
                                  (SBER_BIK, "40702810038000000x0")])
def test_make_valid_account_rejects_bad_input(args):
    with pytest.raises(ValueError):
        v.make_valid_account(*args)


def test_make_valid_corr_account_rejects_bad_bik():
    with pytest.raises(ValueError):
        v.make_valid_corr_account("04452522")


# --------------------------------------------------------------------------
# Email
# --------------------------------------------------------------------------

@pytest.mark.parametrize("email", [
    "user@example.com", "first.last@example.co.uk", "user+tag@sub.example.org",
    "o'reilly@example.io", "x@xn--p1ai.xn--p1ai", "info@почта.рф", " user@example.com ",
    "USER_1-2@Example-Domain.COM",
])
def test_email_valid(email):
    assert v.validate_email(email) is None


@pytest.mark.parametrize("email", [
    "plainaddress", "@example.com", "user@", "user@example", "user@@example.com",
    "us er@example.com", "user@exa mple.com", "user@example..com", ".user@example.com",
    "user.@example.com", "us..er@example.com", "user@-example.com", "user@example-.com",
    "user@example.c", "user@example.123", "user@exam_ple.com", "a@b@example.com",
    "user@.example.com", "x" * 250 + "@example.com",
])
def test_email_invalid(email):
    assert_error(v.MSG_EMAIL_FORMAT, v.validate_email, email)


# --------------------------------------------------------------------------
# Phone
# --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("+7 (916) 123-45-67", "+79161234567"),
    ("8 916 123 45 67", "+79161234567"),
    ("89161234567", "+79161234567"),
    ("9161234567", "+79161234567"),
    ("916.123.45.67", "+79161234567"),
    ("+44 20 7946 0958", "+442079460958"),
    ("4951234567", "+74951234567"),  # 10 digits without "+": a Russian number
    ("+4951234567", "+4951234567"),  # written with "+": kept as given
    ("  +7 495 123-45-67 ", "+74951234567"),
    ("", ""), (None, ""), ("   ", ""), ("()-", ""),
])
def test_normalize_phone(raw, expected):
    assert v.normalize_phone(raw) == expected


@pytest.mark.parametrize("phone", [
    "+7 (916) 123-45-67", "8 916 123 45 67", "9161234567", "916.123.45.67",
    "+44 20 7946 0958", "+1 650 253 0000", "4951234567",
])
def test_phone_valid(phone):
    assert v.validate_phone(phone) is None


@pytest.mark.parametrize("phone", ["+7 916 123 45 67 доб. 12", "8-916-123-45-67 ext", "+7/916/1234567",
                                   "+7 916 123-45-67#", "tel:+79161234567"])
def test_phone_bad_characters(phone):
    assert_error(v.MSG_PHONE_CHARS, v.validate_phone, phone)


# A number no country has (phonenumbers): too short, too long for Russia, too long at all.
@pytest.mark.parametrize("phone", ["123-45-67", "+7 916 123", "123456789012345",
                                   "1234567890123456", "+()-"])
def test_phone_wrong_length(phone):
    assert_error(v.MSG_PHONE_LENGTH, v.validate_phone, phone)


# --------------------------------------------------------------------------
# Non-negative numbers
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, 1, 10**20, 0.0, 2.5, Decimal("0"), Decimal("12.34"),
                                   "0", "15", " 1.50 ", "1e3", "-0", Decimal("-0")])
def test_non_negative_valid(value):
    assert v.validate_non_negative(value) is None


@pytest.mark.parametrize("value", [-1, -0.01, Decimal("-0.01"), "-5", " -1.5 "])
def test_non_negative_negative(value):
    assert_error(v.MSG_NEGATIVE, v.validate_non_negative, value)


@pytest.mark.parametrize("value", ["abc", "1,5", "12a", "--1", "NaN", "inf", "-Infinity",
                                   float("nan"), float("inf"), Decimal("NaN"), True, False,
                                   [1], object()])
def test_non_negative_not_a_number(value):
    assert_error(v.MSG_NOT_A_NUMBER, v.validate_non_negative, value)


# --------------------------------------------------------------------------
# Search normalisation
# --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("  ООО  «Ёлка»\tи\nКо ", "ооо «елка» и ко"),
    ("Фёдоров", "федоров"),
    ("ЁЖ", "еж"),
    ("Acme   Corp", "acme corp"),
    ("\u00a0Рога\u00a0и копыта\u2003", "рога и копыта"),
    ("", ""), (None, ""), ("   ", ""),
])
def test_normalize_search(raw, expected):
    assert v.normalize_search(raw) == expected


def test_normalize_search_is_idempotent():
    text = "  Пётр   ПЕТРОВ  "
    once = v.normalize_search(text)
    assert v.normalize_search(once) == once == "петр петров"


@pytest.mark.parametrize("typed, expected", [
    ("8 916", "+7916"),
    ("+7 916", "+7916"),
    ("916", "+7916"),
    ("7495", "+7495"),
    ("+44 20", "+4420"),
    ("", ""),
    ("abc", ""),
])
def test_phone_search_prefix(typed, expected):
    assert v.phone_search_prefix(typed) == expected


@pytest.mark.parametrize("raw, expected", [
    ("ООО «Ромашка»", "ромашка"),
    ('АО "Вектор Плюс"', "вектор плюс"),
    ("ИП Иванов Иван", "иванов иван"),
    ("Ёлка", "елка"),
    ("ООО", "ооо"),
    ("Оооникс", "оооникс"),
    ("", ""),
])
def test_normalize_name(raw, expected):
    assert v.normalize_name(raw) == expected
