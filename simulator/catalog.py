"""Reference data the simulated practice bills with: procedures (fee schedule with work RVUs),
diagnoses per specialty, payers and their behaviour, denial reasons.

Why these numbers:
- Work RVUs approximate the CMS Physician Fee Schedule (2024 national values), e.g. 99213 = 1.30,
  99214 = 1.92, G0439 = 1.92; drugs, vaccines and lab tests carry 0 wRVU as in the PFS.
- Charges are a practice's list prices, about 2-2.5x the Medicare allowed amount, the usual ratio,
  so payers' allowed amounts land at 40-80 % of charge (see PAYERS).
- E/M level mixes follow the national Medicare distribution for office visits (99213 and 99214 make
  up ~80 % of established visits; 99214 has overtaken 99213 since the 2021 E/M rules).
- Every diagnosis is a billable (leaf) ICD-10-CM code; `validate()` proves it with simple_icd_10_cm.
"""

from dataclasses import dataclass
from decimal import Decimal

import simple_icd_10_cm as icd10


@dataclass(frozen=True)
class Procedure:
    code: str
    description: str
    charge: Decimal
    work_rvu: Decimal


def _p(code: str, description: str, charge: str, wrvu: str) -> Procedure:
    return Procedure(code, description, Decimal(charge), Decimal(wrvu))


PROCEDURES: dict[str, Procedure] = {p.code: p for p in [
    # Office E/M, new and established patients
    _p("99202", "Office visit, new patient, straightforward MDM", "135.00", "0.93"),
    _p("99203", "Office visit, new patient, low MDM", "210.00", "1.60"),
    _p("99204", "Office visit, new patient, moderate MDM", "320.00", "2.60"),
    _p("99205", "Office visit, new patient, high MDM", "420.00", "3.50"),
    _p("99211", "Office visit, established patient, minimal", "45.00", "0.18"),
    _p("99212", "Office visit, established patient, straightforward MDM", "110.00", "0.70"),
    _p("99213", "Office visit, established patient, low MDM", "185.00", "1.30"),
    _p("99214", "Office visit, established patient, moderate MDM", "265.00", "1.92"),
    _p("99215", "Office visit, established patient, high MDM", "370.00", "2.80"),
    _p("G2211", "Visit complexity inherent to E/M (add-on)", "40.00", "0.33"),
    # Preventive medicine, new (9938x) and established (9939x), by age band
    _p("99381", "Preventive visit, new, infant", "240.00", "1.50"),
    _p("99382", "Preventive visit, new, age 1-4", "250.00", "1.60"),
    _p("99383", "Preventive visit, new, age 5-11", "255.00", "1.70"),
    _p("99384", "Preventive visit, new, age 12-17", "280.00", "2.00"),
    _p("99385", "Preventive visit, new, age 18-39", "280.00", "1.92"),
    _p("99386", "Preventive visit, new, age 40-64", "320.00", "2.33"),
    _p("99387", "Preventive visit, new, 65 and over", "345.00", "2.50"),
    _p("99391", "Preventive visit, established, infant", "210.00", "1.37"),
    _p("99392", "Preventive visit, established, age 1-4", "225.00", "1.50"),
    _p("99393", "Preventive visit, established, age 5-11", "225.00", "1.50"),
    _p("99394", "Preventive visit, established, age 12-17", "245.00", "1.70"),
    _p("99395", "Preventive visit, established, age 18-39", "250.00", "1.75"),
    _p("99396", "Preventive visit, established, age 40-64", "270.00", "1.90"),
    _p("99397", "Preventive visit, established, 65 and over", "290.00", "2.00"),
    # Medicare annual wellness and screenings
    _p("G0438", "Annual wellness visit, initial", "310.00", "2.60"),
    _p("G0439", "Annual wellness visit, subsequent", "225.00", "1.92"),
    _p("G0444", "Annual depression screening, 5-15 min", "40.00", "0.18"),
    _p("99497", "Advance care planning, first 30 min", "190.00", "1.50"),
    # Immunizations: administration and vaccine products
    _p("90471", "Immunization administration, first vaccine", "35.00", "0.17"),
    _p("G0008", "Administration of influenza virus vaccine (Medicare)", "35.00", "0.17"),
    _p("90472", "Immunization administration, each additional", "25.00", "0.15"),
    _p("90460", "Immunization admin through 18 years with counseling, first component", "40.00", "0.17"),
    _p("90686", "Influenza vaccine, quadrivalent, preservative free, IM", "45.00", "0.00"),
    _p("90715", "Tdap vaccine, 7 years or older, IM", "70.00", "0.00"),
    _p("90732", "Pneumococcal polysaccharide vaccine, 23-valent", "140.00", "0.00"),
    _p("90651", "HPV vaccine, 9-valent, IM", "310.00", "0.00"),
    _p("90700", "DTaP vaccine, younger than 7 years, IM", "55.00", "0.00"),
    _p("90707", "MMR vaccine, live, subcutaneous", "110.00", "0.00"),
    # Laboratory
    _p("36415", "Routine venipuncture", "20.00", "0.00"),
    _p("85025", "Complete blood count with automated differential", "35.00", "0.00"),
    _p("80053", "Comprehensive metabolic panel", "45.00", "0.00"),
    _p("80061", "Lipid panel", "55.00", "0.00"),
    _p("83036", "Hemoglobin A1c", "40.00", "0.00"),
    _p("84443", "Thyroid stimulating hormone (TSH)", "60.00", "0.00"),
    _p("81002", "Urinalysis, non-automated, without microscopy", "18.00", "0.00"),
    _p("87880", "Rapid strep A antigen test", "35.00", "0.00"),
    _p("87804", "Influenza rapid immunoassay", "40.00", "0.00"),
    _p("81025", "Urine pregnancy test", "25.00", "0.00"),
    _p("Q0091", "Screening Pap smear collection", "60.00", "0.37"),
    # Procedures
    _p("93000", "Electrocardiogram, 12 leads, with interpretation", "75.00", "0.17"),
    _p("93306", "Echocardiography, transthoracic, complete, with Doppler", "980.00", "1.46"),
    _p("93015", "Cardiovascular stress test, complete", "520.00", "0.75"),
    _p("93224", "Holter monitor, 48 hours, complete", "340.00", "0.39"),
    _p("94010", "Spirometry", "80.00", "0.17"),
    _p("96372", "Therapeutic injection, subcutaneous or IM", "45.00", "0.17"),
    _p("69210", "Removal of impacted cerumen, unilateral", "95.00", "0.61"),
    _p("10060", "Incision and drainage of abscess, simple", "260.00", "1.22"),
    _p("11102", "Tangential biopsy of skin, single lesion", "210.00", "0.66"),
    _p("11104", "Punch biopsy of skin, single lesion", "245.00", "0.83"),
    _p("17000", "Destruction of premalignant lesion, first", "150.00", "0.61"),
    _p("17003", "Destruction of premalignant lesions, 2-14, each", "18.00", "0.04"),
    _p("17110", "Destruction of benign lesions, up to 14", "175.00", "0.70"),
    _p("20610", "Arthrocentesis or injection, major joint", "230.00", "0.79"),
    _p("20611", "Arthrocentesis, major joint, with ultrasound guidance", "310.00", "1.10"),
    _p("J3301", "Triamcinolone acetonide, per 10 mg", "18.00", "0.00"),
    _p("73560", "Radiologic exam, knee, 1 or 2 views", "110.00", "0.16"),
    _p("73030", "Radiologic exam, shoulder, 2 or more views", "115.00", "0.18"),
    _p("72100", "Radiologic exam, lumbosacral spine, 2 or 3 views", "140.00", "0.22"),
    _p("76805", "Obstetric ultrasound, after first trimester", "420.00", "0.99"),
    _p("58300", "Insertion of intrauterine device", "310.00", "1.01"),
]}

# E/M level mixes (code, weight): national Medicare office-visit distributions, rounded.
EM_NEW = (("99202", 0.05), ("99203", 0.33), ("99204", 0.46), ("99205", 0.16))
EM_ESTABLISHED = (("99211", 0.02), ("99212", 0.06), ("99213", 0.37), ("99214", 0.46), ("99215", 0.09))
EM_SICK = (("99212", 0.15), ("99213", 0.60), ("99214", 0.25))  # acute visits code lower


def preventive_code(age: int, new: bool) -> str:
    """The age-banded preventive medicine code (9938x new, 9939x established)."""
    bands = ((1, 1), (5, 2), (12, 3), (18, 4), (40, 5), (65, 6))
    digit = next((d for limit, d in bands if age < limit), 7)
    return f"993{8 if new else 9}{digit}"


# Diagnoses by visit kind. Weights are relative. "acute_winter" codes gain weight in the
# respiratory season (see demand.RESPIRATORY); chronic codes are also comorbidities.
CHRONIC = (("I10", 30), ("E78.5", 22), ("E11.9", 10), ("E11.65", 3), ("E66.9", 12), ("K21.9", 8),
           ("F41.1", 7), ("F32.A", 6), ("J45.909", 6), ("E03.9", 5), ("J44.9", 3), ("R73.03", 6),
           ("M17.11", 3), ("G43.909", 2), ("E55.9", 4), ("I25.10", 3))
ACUTE = (("J06.9", 14), ("J02.9", 6), ("J01.90", 6), ("J20.9", 6), ("R05.9", 6), ("J11.1", 5),
         ("U07.1", 3), ("H66.90", 4), ("B34.9", 4), ("N39.0", 6), ("M54.50", 8), ("R51.9", 3),
         ("R10.9", 3), ("K52.9", 3), ("L08.9", 2), ("H10.9", 3), ("S93.401A", 2), ("R42", 2),
         ("R53.83", 3), ("J30.9", 3), ("L30.9", 3))
RESPIRATORY = frozenset({"J06.9", "J02.9", "J01.90", "J20.9", "R05.9", "J11.1", "U07.1", "H66.90", "B34.9"})
PREVENTIVE_ADULT = (("Z00.00", 65), ("Z00.01", 35))
PREVENTIVE_CHILD = (("Z00.129", 70), ("Z00.121", 30))
SCREENING = (("Z13.220", 1), ("Z71.3", 1), ("Z87.891", 1))
PEDIATRIC_ACUTE = (("J06.9", 20), ("H66.90", 14), ("J02.9", 10), ("B34.9", 8), ("R50.9", 6), ("J20.9", 5),
                   ("K52.9", 4), ("H10.9", 5), ("L30.9", 4), ("J45.909", 5), ("F90.0", 4), ("J11.1", 4))
OBGYN = (("Z01.419", 30), ("Z34.81", 14), ("O09.90", 3), ("Z30.011", 8), ("N92.0", 6), ("N95.1", 8),
         ("N39.0", 5), ("Z12.4", 6))
CARDIOLOGY = (("I10", 20), ("I25.10", 18), ("I48.91", 14), ("I50.9", 9), ("R00.2", 8), ("R07.9", 10),
              ("I20.9", 5), ("I49.9", 5), ("I35.0", 4), ("R94.31", 4), ("E78.5", 6))
DERMATOLOGY = (("L57.0", 22), ("D22.5", 14), ("L82.1", 12), ("L70.0", 14), ("L40.0", 8), ("L30.9", 10),
               ("B07.9", 10), ("L08.9", 4))
# Procedure visits: (diagnosis, [(code, units, modifiers)], weight) per specialty.
PROCEDURE_VISITS = {
    "primary": (("H61.23", (("69210", 1, ()),), 4), ("L02.419", (("10060", 1, ()),), 2),
                ("B07.9", (("17110", 1, ()),), 2), ("J44.9", (("94010", 1, ()),), 2),
                ("R00.2", (("93000", 1, ()),), 3), ("E55.9", (("96372", 1, ()),), 1)),
    "Dermatology": (("L57.0", (("17000", 1, ()), ("17003", 4, ())), 5), ("D48.5", (("11102", 1, ()),), 3),
                    ("D22.5", (("11104", 1, ()),), 2), ("B07.9", (("17110", 1, ()),), 3),
                    ("L72.0", (("10060", 1, ()),), 1)),
    "Orthopedic Surgery": (("M17.11", (("20610", 1, ("RT",)), ("J3301", 4, ())), 5),
                           ("M17.11", (("20611", 1, ("RT",)), ("J3301", 4, ())), 2),
                           ("M25.561", (("73560", 1, ("RT",)),), 3), ("M25.511", (("73030", 1, ("RT",)),), 2),
                           ("M54.50", (("72100", 1, ()),), 2)),
    "Cardiology": (("I34.0", (("93306", 1, ()),), 3), ("R07.9", (("93015", 1, ()),), 2),
                   ("R00.2", (("93224", 1, ()),), 2), ("I48.91", (("93000", 1, ()),), 3),
                   ("R01.1", (("93306", 1, ()),), 1)),
    "Obstetrics & Gynecology": (("Z30.430", (("58300", 1, ()),), 3), ("Z34.82", (("76805", 1, ()),), 4),
                                ("Z12.4", (("Q0091", 1, ()),), 3)),
}
ORTHOPEDICS = (("M17.11", 18), ("M25.561", 14), ("M54.50", 12), ("M51.16", 8), ("M75.41", 10),
               ("S83.241A", 6), ("S93.401A", 8), ("M19.90", 8), ("Z96.651", 5), ("Z47.1", 5), ("M79.7", 3))

CHRONIC_CODES = frozenset(code for code, _ in CHRONIC)


@dataclass(frozen=True)
class PayerSpec:
    """A payer and how it behaves. Lags are in days; ratios are of the billed charge.

    allowed: (mean, sd) of allowed ÷ charge. deny: probability the first adjudication is a denial.
    reject: probability the clearinghouse rejects a submission. lag: (median, sigma) of a lognormal
    from acceptance to remittance. coins/copay/deductible: the patient's share rules.
    """

    name: str
    edi: str
    kind: str
    allowed: tuple[float, float]
    deny: float
    reject: float
    lag: tuple[float, float]
    coinsurance: float = 0.0
    copay: tuple[int, ...] = ()
    deductible: int = 0  # annual, met progressively from January
    appeal_overturn: float = 0.5


PAYERS: tuple[PayerSpec, ...] = (
    PayerSpec("Medicare Part B", "MCRB1", "medicare", (0.47, 0.04), 0.055, 0.025, (13, 0.25), coinsurance=0.20,
              deductible=240, appeal_overturn=0.50),
    PayerSpec("State Medicaid", "MCD01", "medicaid", (0.36, 0.04), 0.12, 0.05, (24, 0.35), copay=(0, 0, 2, 4),
              appeal_overturn=0.40),
    PayerSpec("BlueCross BlueShield", "BCBS1", "commercial", (0.66, 0.06), 0.07, 0.03, (14, 0.35), coinsurance=0.10,
              copay=(20, 25, 30, 40), deductible=1500, appeal_overturn=0.55),
    PayerSpec("UnitedHealthcare", "UHC01", "commercial", (0.62, 0.06), 0.10, 0.035, (17, 0.40), coinsurance=0.20,
              copay=(25, 30, 40), deductible=2000, appeal_overturn=0.50),
    PayerSpec("Aetna", "AETN1", "commercial", (0.64, 0.05), 0.08, 0.03, (15, 0.35), coinsurance=0.20,
              copay=(20, 30, 35), deductible=1750, appeal_overturn=0.55),
    PayerSpec("Cigna", "CIGN1", "commercial", (0.70, 0.06), 0.09, 0.03, (16, 0.40), coinsurance=0.20,
              copay=(25, 35, 50), deductible=2500, appeal_overturn=0.55),
    PayerSpec("State Workers' Compensation Fund", "WCF01", "workers_comp", (0.78, 0.05), 0.13, 0.06, (35, 0.40),
              appeal_overturn=0.45),
    PayerSpec("Self Pay", "SELF1", "self_pay", (1.0, 0.0), 0.0, 0.0, (0, 0.0)),
)

# Initial denials: CARC reason (group CO) → (relative weight, RARC remark, appealed probability,
# overturn multiplier on the payer's base rate). Front-end errors (16, 4, 11, 22, 27) are
# appealed and overturned more often than medical-necessity or timely-filing denials.
DENIALS: dict[str, tuple[float, str, float, float]] = {
    "16": (0.20, "MA130", 0.85, 1.40),   # missing information
    "97": (0.12, "M15", 0.45, 0.70),     # bundled into another service
    "197": (0.12, "N54", 0.70, 0.70),    # precertification/authorization absent
    "50": (0.16, "N115", 0.75, 0.90),    # not medically necessary
    "29": (0.04, "N211", 0.15, 0.30),    # timely filing limit expired
    "22": (0.10, "MA04", 0.70, 1.20),    # coordination of benefits
    "18": (0.07, "N522", 0.20, 0.40),    # duplicate claim
    "27": (0.07, "N30", 0.40, 0.60),     # coverage terminated
    "4": (0.06, "M78", 0.85, 1.50),      # modifier inconsistent/missing
    "11": (0.06, "M76", 0.80, 1.30),     # diagnosis inconsistent with procedure
}
# Clearinghouse (277CA) rejection reasons, fixed and resubmitted within days.
REJECTIONS = ("invalid subscriber id", "missing rendering NPI", "invalid diagnosis pointer", "payer id mismatch")


def validate() -> list[str]:
    """Problems with the catalog: every diagnosis must be a billable ICD-10-CM code, every billed
    procedure must have a fee."""
    pools = (CHRONIC, ACUTE, PREVENTIVE_ADULT, PREVENTIVE_CHILD, SCREENING, PEDIATRIC_ACUTE, OBGYN, CARDIOLOGY,
             DERMATOLOGY, ORTHOPEDICS)
    codes = {code for pool in pools for code, _ in pool}
    codes |= {dx for visits in PROCEDURE_VISITS.values() for dx, _, _ in visits}
    problems = [f"{c} is not a billable ICD-10-CM code" for c in sorted(codes)
                if not (icd10.is_valid_item(c) and icd10.is_leaf(c))]
    billed = {code for visits in PROCEDURE_VISITS.values() for _, lines, _ in visits for code, _, _ in lines}
    billed |= {code for code, _ in EM_NEW + EM_ESTABLISHED + EM_SICK}
    return problems + [f"{c} has no fee" for c in sorted(billed - PROCEDURES.keys())]
