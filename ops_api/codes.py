"""Medical code validation with real code sets: NPI (Luhn, via python-stdnum), ICD-10-CM (the CMS
code set shipped in simple-icd-10-cm), and the CPT/HCPCS and modifier formats.

Each check returns a problem message or None, so callers can collect every problem at once.
"""

import re
import zoneinfo

import simple_icd_10_cm as icd10
from stdnum import luhn

# CPT Category I: 5 digits; Category II/III: 4 digits + F/T; HCPCS Level II: a letter + 4 digits.
PROCEDURE_RE = re.compile(r"^(\d{5}|\d{4}[FT]|[A-V]\d{4})$")
MODIFIER_RE = re.compile(r"^[A-Z0-9]{2}$")
CARC_RE = re.compile(r"^([1-9]\d{0,2}|[A-Z]\d{1,2})$")  # CARC: 1-3 digits or a letter + digits (e.g. B7)
RARC_RE = re.compile(r"^[MN]A?\d{1,3}$")
POS_RE = re.compile(r"^\d{2}$")
NPI_HEALTH_PREFIX = "80840"  # NPI check digit: Luhn over the ISO 7812 health-industry prefix + 9 digits


def npi_problem(npi: str) -> str | None:
    if not re.fullmatch(r"\d{10}", npi or ""):
        return "NPI must be exactly 10 digits"
    if npi[0] not in "12":
        return "NPI must start with 1 or 2"
    if not luhn.is_valid(NPI_HEALTH_PREFIX + npi):
        return "NPI check digit is invalid"
    return None


def normalize_icd10(code: str) -> str:
    return icd10.add_dot(code.strip().upper().replace(".", ""))


def icd10_problem(code: str) -> str | None:
    """Must be a billable (leaf) ICD-10-CM code, not a category header like E11."""
    raw = (code or "").strip().upper().replace(".", "")
    if not raw or not icd10.is_valid_item(raw):
        return f"{code!r} is not an ICD-10-CM code"
    if not icd10.is_leaf(raw):
        return f"{code!r} is an ICD-10-CM category, not a billable code; use a more specific code"
    return None


def procedure_problem(code: str) -> str | None:
    if not PROCEDURE_RE.match(code or ""):
        return f"{code!r} is not a CPT (5 digits, or 4 digits + F/T) or HCPCS Level II (letter + 4 digits) code"
    return None


def modifier_problem(modifier: str) -> str | None:
    if not MODIFIER_RE.match(modifier or ""):
        return f"modifier {modifier!r} must be 2 letters or digits"
    return None


def timezone_problem(name: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return f"{name!r} is not an IANA timezone"
    return None
