"""No-show features use only what was known when the appointment was booked."""

import numpy as np
import pandas as pd
import pytest

from ml.features import FEATURES, no_show_features, no_show_labels, normalise, weekly_payments
from tests.ml.synthetic import START, appointments

T0 = pd.Timestamp("2025-03-01 09:00", tz="UTC")


def _appt(appointment_id, booked, starts, status, patient="p1"):
    starts = pd.Timestamp(starts, tz="UTC")
    return {
        "appointment_id": appointment_id, "patient_id": patient, "provider_id": "dr1", "facility_id": "f1",
        "appointment_type": "follow_up", "payer_kind": "commercial", "age_band": "35-49",
        "booked_at": pd.Timestamp(booked, tz="UTC"), "starts_at": starts, "outcome_known_at": starts + pd.Timedelta(minutes=30),
        "lead_days": 1, "start_weekday": starts.dayofweek, "start_hour": starts.hour, "status": status, "reminder_sent": True,
    }


def test_future_outcomes_and_bookings_do_not_change_earlier_features():
    appts = appointments(n_patients=300, per_patient=10)
    cut = START + pd.Timedelta(days=180)
    before = no_show_features(appts)

    # Everything not yet known at `cut` changes: outcomes known later are flipped, and new
    # appointments for the same patients are booked after it, in shuffled row order.
    future = appts.copy()
    unknown = future["outcome_known_at"] >= cut
    flip = {"no_show": "completed", "completed": "cancelled", "cancelled": "no_show"}
    future.loc[unknown, "status"] = future.loc[unknown, "status"].map(flip)
    extra = appts.sample(500, random_state=1).assign(
        appointment_id=lambda f: "x" + f["appointment_id"],
        booked_at=cut + pd.Timedelta(hours=1),
        starts_at=cut + pd.Timedelta(days=2),
        outcome_known_at=cut + pd.Timedelta(days=2, minutes=30),
        status="no_show",
    )
    changed = pd.concat([future, extra]).sample(frac=1, random_state=2)
    after = no_show_features(changed).set_index(changed["appointment_id"])

    booked_earlier = appts["booked_at"] <= cut
    assert booked_earlier.sum() > 500 and unknown.sum() > 500
    expected = before[booked_earlier].set_index(appts.loc[booked_earlier, "appointment_id"])
    pd.testing.assert_frame_equal(after.loc[expected.index], expected, check_dtype=False)
    # ...while later bookings do see the new outcomes (the mutation was not a no-op).
    later = ~booked_earlier & (appts["booked_at"] > cut + pd.Timedelta(days=30))
    ids = appts.loc[later, "appointment_id"]
    assert not after.loc[ids, "prior_no_shows"].equals(before[later].set_index(ids)["prior_no_shows"])


def test_an_appointments_own_outcome_never_reaches_its_features():
    appts = appointments(n_patients=50, per_patient=6)
    baseline = no_show_features(appts)
    flip = {"no_show": "completed", "completed": "no_show", "cancelled": "no_show"}
    for row in appts.sample(10, random_state=3).index:
        one = appts.copy()
        one.loc[row, "status"] = flip[one.loc[row, "status"]]
        pd.testing.assert_series_equal(no_show_features(one).loc[row], baseline.loc[row])


def test_history_counts_by_hand():
    rows = [
        _appt("a1", "2025-01-01 10:00", "2025-01-10 09:00", "no_show"),
        _appt("a2", "2025-01-02 10:00", "2025-01-20 09:00", "completed"),
        _appt("a3", "2025-01-10 09:30", "2025-01-25 09:00", "cancelled"),  # booked exactly when a1's outcome is known
        _appt("a4", "2025-01-21 08:00", "2025-02-01 09:00", "completed"),
        _appt("a5", "2025-02-10 08:00", "2025-02-11 09:00", "no_show"),
        _appt("b1", "2025-01-05 08:00", "2025-01-06 09:00", "no_show", patient="p2"),
    ]
    features = no_show_features(normalise(pd.DataFrame(rows))).set_index(pd.Index([r["appointment_id"] for r in rows]))
    got = features[["prior_bookings", "pending_bookings", "prior_outcomes", "prior_no_shows", "prior_cancellations"]]
    expected = pd.DataFrame(
        [[0, 0, 0, 0, 0], [1, 1, 0, 0, 0], [2, 2, 0, 0, 0], [3, 1, 2, 1, 0], [4, 0, 4, 1, 1], [0, 0, 0, 0, 0]],
        index=got.index, columns=got.columns, dtype=float,
    )
    pd.testing.assert_frame_equal(got, expected)
    assert features.loc["a4", "prior_no_show_rate"] == 0.5
    assert features.loc["a5", "prior_cancel_rate"] == 0.25
    assert features.loc["a5", "days_since_last_visit"] == pytest.approx(10.0)  # last held visit a4 on Feb 1
    assert np.isnan(features.loc["a3", "days_since_last_visit"])
    assert list(features.columns) == FEATURES


def test_labels_follow_the_kpi_denominator():
    frame = pd.DataFrame({"status": ["completed", "checked_in", "no_show", "cancelled", "scheduled"]})
    assert no_show_labels(frame).tolist()[:3] == [0.0, 0.0, 1.0]
    assert no_show_labels(frame).iloc[3:].isna().all()


def test_normalise_rejects_an_incomplete_frame():
    with pytest.raises(ValueError, match="lacks"):
        normalise(pd.DataFrame({"appointment_id": ["a"]}))


def test_weekly_payments_complete_weeks_per_practice_and_facility():
    payments = pd.DataFrame(
        {
            "payment_date": pd.to_datetime(["2025-01-06", "2025-01-08", "2025-01-14", "2025-01-27", "2025-02-05"]),
            "facility_id": ["f1", "f2", "f1", "f2", "f1"],
            "amount": [100.0, 50.0, 25.0, 10.0, 999.0],
        }
    )
    weekly = weekly_payments(payments)
    practice = weekly[weekly["facility_id"].isna()].set_index("week_start")["amount"]
    # Weeks of Jan 6, 13, 20 (empty), 27; the week holding the last payment (Feb 3) is partial.
    assert practice.tolist() == [150.0, 25.0, 0.0, 10.0]
    f2 = weekly[weekly["facility_id"] == "f2"].set_index("week_start")["amount"]
    assert f2.tolist() == [50.0, 0.0, 0.0, 10.0]
