"""Validators and normalisers for Russian legal requisites and contact data.

Pure Python: no Flask or SQLAlchemy imports, so the module can be used from
models, forms, API schemas, CLI commands and tests alike.

Conventions
-----------
* Every validator accepts a string (or None), strips surrounding whitespace
  and treats an empty value as valid: whether a field is required is the
  caller's business.
* A valid value returns None; an invalid one raises :class:`ValidationError`.
* Messages are plain English constants wrapped in the no-op marker ``N_`` so
  that ``pybabel extract -k N_`` collects them.  Callers translate them at
  display time, e.g. ``flask_babel.gettext(err.message)``.
"""

import re
from decimal import Decimal, InvalidOperation

import phonenumbers

# Numbers written without a country code are Russian ones.
PHONE_REGION = "RU"


def N_(s):
    """Mark a string for translation without translating it (no-op)."""
    return s


class ValidationError(ValueError):
    """Raised by the validators; ``.message`` is the untranslated text."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------

MSG_INN_DIGITS = N_("INN must contain digits only")
MSG_INN_LENGTH = N_("INN must be 10 or 12 digits long")
MSG_INN_COMPANY_LENGTH = N_("Company INN must be 10 digits long")
MSG_INN_PERSON_LENGTH = N_("Personal INN must be 12 digits long")
MSG_INN_CHECKSUM = N_("INN checksum is invalid")

MSG_KPP_FORMAT = N_("KPP must be 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits")

MSG_OGRN_DIGITS = N_("OGRN must contain digits only")
MSG_OGRN_LENGTH = N_("OGRN must be 13 digits long, OGRNIP 15 digits long")
MSG_OGRN_COMPANY_LENGTH = N_("OGRN must be 13 digits long")
MSG_OGRNIP_LENGTH = N_("OGRNIP must be 15 digits long")
MSG_OGRN_CHECKSUM = N_("OGRN checksum is invalid")

MSG_BIK_DIGITS = N_("BIK must contain digits only")
MSG_BIK_LENGTH = N_("BIK must be 9 digits long")
MSG_BIK_PREFIX = N_("BIK must start with 04")

MSG_ACCOUNT_DIGITS = N_("Account number must contain digits only")
MSG_ACCOUNT_LENGTH = N_("Account number must be 20 digits long")
MSG_ACCOUNT_NEEDS_BIK = N_("A valid BIK is required to check the account number")
MSG_ACCOUNT_CHECKSUM = N_("Account number does not match the BIK (checksum is invalid)")
MSG_CORR_PREFIX = N_("Correspondent account must start with 301")

MSG_EMAIL_FORMAT = N_("Invalid email address")

MSG_PHONE_CHARS = N_("Phone number may contain only digits, spaces and + - ( ) .")
MSG_PHONE_LENGTH = N_("Phone number must contain 10 to 15 digits")

MSG_NOT_A_NUMBER = N_("Value must be a number")
MSG_NEGATIVE = N_("Value must not be negative")


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------

def _clean(value):
    """Return ``value`` as a stripped string ('' for None)."""
    if value is None:
        return ""
    return str(value).strip()


def _is_digits(value):
    """True when ``value`` consists of ASCII digits only (str.isdigit is too lax)."""
    return bool(value) and all("0" <= ch <= "9" for ch in value)


def _weighted_control(digits, weights):
    """FNS control digit: weighted sum % 11 % 10."""
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


_KIND_COMPANY = "company"
_KIND_PERSON = ("person", "ip")


def _check_kind(kind):
    if kind is not None and kind != _KIND_COMPANY and kind not in _KIND_PERSON:
        raise ValueError("kind must be None, 'company', 'person' or 'ip', got %r" % (kind,))


# --------------------------------------------------------------------------
# INN (taxpayer identification number)
# --------------------------------------------------------------------------

_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_1 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS_2 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _inn_controls(body):
    """Control digit(s) for a 9-digit (-> INN10) or 10-digit (-> INN12) body."""
    if len(body) == 9:
        return str(_weighted_control(body, _INN10_WEIGHTS))
    first = str(_weighted_control(body, _INN12_WEIGHTS_1))
    second = str(_weighted_control(body + first, _INN12_WEIGHTS_2))
    return first + second


def validate_inn(value, kind=None):
    """Validate an INN: 10 digits for a company, 12 for a person / sole proprietor.

    ``kind`` = 'company' requires 10 digits, 'person' (or 'ip') requires 12,
    None accepts either.
    """
    _check_kind(kind)
    value = _clean(value)
    if not value:
        return None
    if not _is_digits(value):
        raise ValidationError(MSG_INN_DIGITS)
    if kind == _KIND_COMPANY and len(value) != 10:
        raise ValidationError(MSG_INN_COMPANY_LENGTH)
    if kind in _KIND_PERSON and len(value) != 12:
        raise ValidationError(MSG_INN_PERSON_LENGTH)
    if len(value) not in (10, 12):
        raise ValidationError(MSG_INN_LENGTH)
    body_len = len(value) - (1 if len(value) == 10 else 2)
    if _inn_controls(value[:body_len]) != value[body_len:]:
        raise ValidationError(MSG_INN_CHECKSUM)
    return None


# --------------------------------------------------------------------------
# KPP (tax registration reason code)
# --------------------------------------------------------------------------

_KPP_RE = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")


def validate_kpp(value):
    """Validate a KPP: 4 digits, 2 digits or capital Latin letters, 3 digits."""
    value = _clean(value)
    if not value:
        return None
    if not _KPP_RE.fullmatch(value):
        raise ValidationError(MSG_KPP_FORMAT)
    return None


# --------------------------------------------------------------------------
# OGRN / OGRNIP (primary state registration number)
# --------------------------------------------------------------------------

def _ogrn_control(body):
    """Control digit for a 12-digit OGRN body or a 14-digit OGRNIP body."""
    divisor = 11 if len(body) == 12 else 13
    return str(int(body) % divisor % 10)


def validate_ogrn(value, kind=None):
    """Validate an OGRN (13 digits, company) or OGRNIP (15 digits, sole proprietor).

    ``kind`` = 'company' requires 13 digits, 'person' or 'ip' requires 15,
    None accepts either.
    """
    _check_kind(kind)
    value = _clean(value)
    if not value:
        return None
    if not _is_digits(value):
        raise ValidationError(MSG_OGRN_DIGITS)
    if kind == _KIND_COMPANY and len(value) != 13:
        raise ValidationError(MSG_OGRN_COMPANY_LENGTH)
    if kind in _KIND_PERSON and len(value) != 15:
        raise ValidationError(MSG_OGRNIP_LENGTH)
    if len(value) not in (13, 15):
        raise ValidationError(MSG_OGRN_LENGTH)
    if _ogrn_control(value[:-1]) != value[-1]:
        raise ValidationError(MSG_OGRN_CHECKSUM)
    return None


# --------------------------------------------------------------------------
# Bank requisites: BIK, settlement account, correspondent account
# --------------------------------------------------------------------------

_ACCOUNT_WEIGHTS = (7, 1, 3) * 8  # 24 >= 23 digits (3-digit key + 20-digit account)
_ACCOUNT_CONTROL_INDEX = 8        # the 9th digit of an account is its control digit


def validate_bik(value):
    """Validate a BIK: 9 digits starting with '04'."""
    value = _clean(value)
    if not value:
        return None
    if not _is_digits(value):
        raise ValidationError(MSG_BIK_DIGITS)
    if len(value) != 9:
        raise ValidationError(MSG_BIK_LENGTH)
    if not value.startswith("04"):
        raise ValidationError(MSG_BIK_PREFIX)
    return None


def _account_checksum_ok(key, account):
    """Central Bank rule: weights 7,1,3 over key + account, sum % 10 == 0."""
    digits = key + account
    return sum(int(d) * w for d, w in zip(digits, _ACCOUNT_WEIGHTS, strict=False)) % 10 == 0


def _clean_bik_for_account(bik):
    """Return a cleaned, valid BIK or raise MSG_ACCOUNT_NEEDS_BIK."""
    bik = _clean(bik)
    if not bik:
        raise ValidationError(MSG_ACCOUNT_NEEDS_BIK)
    try:
        validate_bik(bik)
    except ValidationError:
        raise ValidationError(MSG_ACCOUNT_NEEDS_BIK) from None
    return bik


def _check_account_format(account):
    if not _is_digits(account):
        raise ValidationError(MSG_ACCOUNT_DIGITS)
    if len(account) != 20:
        raise ValidationError(MSG_ACCOUNT_LENGTH)


def _settlement_key(bik):
    return bik[-3:]


def _corr_key(bik):
    return "0" + bik[4:6]


def validate_account(account, bik):
    """Validate a 20-digit settlement account against the bank's BIK.

    The checksum key is the last 3 digits of the BIK.  An empty account is
    valid; a non-empty one needs a valid BIK (otherwise MSG_ACCOUNT_NEEDS_BIK).
    """
    account = _clean(account)
    if not account:
        return None
    _check_account_format(account)
    bik = _clean_bik_for_account(bik)
    if not _account_checksum_ok(_settlement_key(bik), account):
        raise ValidationError(MSG_ACCOUNT_CHECKSUM)
    return None


def validate_corr_account(corr, bik):
    """Validate a 20-digit correspondent account (starts with '301') against the BIK.

    The checksum key is '0' + BIK digits 5-6.  An empty account is valid; a
    non-empty one needs a valid BIK (otherwise MSG_ACCOUNT_NEEDS_BIK).
    """
    corr = _clean(corr)
    if not corr:
        return None
    _check_account_format(corr)
    if not corr.startswith("301"):
        raise ValidationError(MSG_CORR_PREFIX)
    bik = _clean_bik_for_account(bik)
    if not _account_checksum_ok(_corr_key(bik), corr):
        raise ValidationError(MSG_ACCOUNT_CHECKSUM)
    return None


# --------------------------------------------------------------------------
# Contacts: email and phone
# --------------------------------------------------------------------------

_EMAIL_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_EMAIL_LABEL = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"          # letters/digits, inner hyphens
_EMAIL_TLD = r"(?:[^\W\d_]{2,63}|xn--[A-Za-z0-9-]{1,59})"        # letters (incl. .рф) or punycode
_EMAIL_RE = re.compile(rf"{_EMAIL_LOCAL}@(?:{_EMAIL_LABEL}\.)+{_EMAIL_TLD}")


def validate_email(value):
    """Validate an email address with a practical pattern: local@domain.tld.

    ASCII local part (no spaces, no leading/trailing/double dots), one '@',
    at least one dot in the domain; internationalised domains such as .рф
    are accepted.
    """
    value = _clean(value)
    if not value:
        return None
    if len(value) > 254 or not _EMAIL_RE.fullmatch(value):
        raise ValidationError(MSG_EMAIL_FORMAT)
    return None


_PHONE_ALLOWED_RE = re.compile(r"[0-9 +\-().]+")


def normalize_phone(value):
    """A phone number in E.164 ('+74956601812'; '' for empty), read with phonenumbers as
    people in Russia write numbers: '+7 (495) 660-18-12', '84956601812', '8 495 660 18 12'
    and '4956601812' are one number. A number phonenumbers cannot read keeps its digits
    after a '+' (validate_phone refuses it on entry)."""
    text = _clean(value)
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = "".join(ch for ch in text if "0" <= ch <= "9")
    return "+" + digits if digits else ""


def phone_tail(value):
    """The digits of a phone number from the last one back ('+74956601812' ->
    '21810665947'): a number typed without its country or area code ('660-18-12') is the
    start of this, so a plain index finds it."""
    digits = "".join(ch for ch in normalize_phone(value) if "0" <= ch <= "9")
    return digits[::-1] or None


def typed_phone_tail(value, longest=10):
    """What to look a typed number up by in phone_tail: its last `longest` digits (the
    number without its country code) reversed; '' when fewer than 4 digits were typed."""
    digits = "".join(ch for ch in _clean(value) if "0" <= ch <= "9")
    return digits[-longest:][::-1] if len(digits) >= 4 else ""


def email_domain(value):
    """The domain of an e-mail address, lower-case ('Ivan@Mail.RU' -> 'mail.ru')."""
    text = _clean(value).lower()
    return text.rpartition("@")[2] or None if "@" in text else None


def validate_phone(value):
    """Validate a phone number: allowed characters only, 10-15 digits once normalised."""
    value = _clean(value)
    if not value:
        return None
    if not _PHONE_ALLOWED_RE.fullmatch(value):
        raise ValidationError(MSG_PHONE_CHARS)
    try:
        possible = phonenumbers.is_possible_number(phonenumbers.parse(value, PHONE_REGION))
    except phonenumbers.NumberParseException:
        possible = False
    if not possible or not 10 <= len(normalize_phone(value)) - 1 <= 15:
        raise ValidationError(MSG_PHONE_LENGTH)
    return None


# --------------------------------------------------------------------------
# Numbers and search
# --------------------------------------------------------------------------

def validate_non_negative(value):
    """Validate that ``value`` (int, float, Decimal or numeric str) is a finite number >= 0."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(MSG_NOT_A_NUMBER)
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    try:
        if not isinstance(value, (str, int, float, Decimal)):
            value = float(value)  # other numeric types, e.g. numpy scalars
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError(MSG_NOT_A_NUMBER) from None
    if not number.is_finite():
        raise ValidationError(MSG_NOT_A_NUMBER)
    if number < 0:
        raise ValidationError(MSG_NEGATIVE)
    return None


_WHITESPACE_RE = re.compile(r"\s+")


def fold_case(value):
    """Text as a case-blind comparison reads it: lower case, "ё" as "е" (None stays None)."""
    if value is None:
        return None
    return str(value).casefold().replace("ё", "е")


def normalize_search(value):
    """Normalise text for indexed prefix search: lower-case, 'ё' -> 'е', single spaces."""
    text = _clean(value).lower().replace("ё", "е")
    return _WHITESPACE_RE.sub(" ", text).strip()


# Legal forms people leave out when they look a company up: "ООО «Ромашка»" is "ромашка".
_LEGAL_FORM_RE = re.compile(
    r"^(?:ооо|оао|зао|пао|ао|нао|ип|нко|гуп|муп|фгуп|ано|тоо|llc|ltd|inc|gmbh)\s+")
_QUOTES_RE = re.compile(r"[«»\"'“”„]")


def normalize_name(value):
    """normalize_search for company names: quotes and a leading legal form dropped."""
    text = normalize_search(_QUOTES_RE.sub(" ", _clean(value)))
    text = _WHITESPACE_RE.sub(" ", text).strip()
    stripped = _LEGAL_FORM_RE.sub("", text)
    return stripped or text


# --------------------------------------------------------------------------
# Generators of valid numbers (tests and demo data)
# --------------------------------------------------------------------------

def _require_digits(name, value, length):
    if not (isinstance(value, str) and len(value) == length and _is_digits(value)):
        raise ValueError("%s must be a string of %d digits, got %r" % (name, length, value))


def make_valid_inn(prefix_digits, length=10):
    """Append the control digit(s) to an INN body: 9 digits -> INN10, 10 digits -> INN12."""
    if length not in (10, 12):
        raise ValueError("length must be 10 or 12, got %r" % (length,))
    _require_digits("prefix_digits", prefix_digits, length - (1 if length == 10 else 2))
    return prefix_digits + _inn_controls(prefix_digits)


def make_valid_ogrn(body12):
    """Append the control digit to a 12-digit OGRN body (13-digit OGRN)."""
    _require_digits("body12", body12, 12)
    return body12 + _ogrn_control(body12)


def make_valid_ogrnip(body14):
    """Append the control digit to a 14-digit OGRNIP body (15-digit OGRNIP)."""
    _require_digits("body14", body14, 14)
    return body14 + _ogrn_control(body14)


def _with_account_control(key, account):
    """Return ``account`` with its control digit (index 8) fixed for ``key``."""
    zeroed = account[:_ACCOUNT_CONTROL_INDEX] + "0" + account[_ACCOUNT_CONTROL_INDEX + 1:]
    total = sum(int(d) * w for d, w in zip(key + zeroed, _ACCOUNT_WEIGHTS, strict=False))
    # The control position (3 + 8 = 11) has weight 3; 3 * 3 = 9 = -1 (mod 10).
    control = str(total % 10 * 3 % 10)
    return zeroed[:_ACCOUNT_CONTROL_INDEX] + control + zeroed[_ACCOUNT_CONTROL_INDEX + 1:]


def make_valid_account(bik, body19):
    """Build a 20-digit settlement account valid for ``bik``.

    ``body19`` holds the 19 non-control digits; the control digit is
    inserted as the 9th digit (index 8).  A 20-digit string is also
    accepted, its 9th digit is then replaced.
    """
    _require_digits("bik", bik, 9)
    if isinstance(body19, str) and len(body19) == 20:
        _require_digits("body19", body19, 20)
        account = body19
    else:
        _require_digits("body19", body19, 19)
        account = body19[:_ACCOUNT_CONTROL_INDEX] + "0" + body19[_ACCOUNT_CONTROL_INDEX:]
    return _with_account_control(_settlement_key(bik), account)


def make_valid_corr_account(bik):
    """Build the correspondent account for ``bik``: '30101810' + control + '00000000' + last 3 BIK digits."""
    _require_digits("bik", bik, 9)
    return _with_account_control(_corr_key(bik), "30101810" + "0" + "00000000" + bik[-3:])


def phone_search_prefix(value):
    """The normalised prefix to look up phones that start with what a person typed.

    People type the beginning of a Russian number in any form: "8 916", "+7 916", "916".
    Numbers typed with "+" are taken as international and kept as typed.
    """
    typed = _clean(value)
    digits = "".join(ch for ch in typed if "0" <= ch <= "9")
    if not digits:
        return ""
    if not typed.startswith("+"):
        if digits.startswith("8"):
            digits = "7" + digits[1:]
        elif not digits.startswith("7"):
            digits = "7" + digits
    return "+" + digits


def birthday_key(value):
    """A birthday as month * 100 + day (12 May -> 512), or None: the same every year, so
    that the birthdays of the coming days are one indexed range, whatever the year."""
    if not value:
        return None
    return value.month * 100 + value.day

