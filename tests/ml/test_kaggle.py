"""The Kaggle no-show set mapped onto the appointment contract and the shared feature code."""

import pandas as pd
import pytest

from ml.features import APPOINTMENT_COLUMNS, no_show_features, no_show_labels
from ml.kaggle import age_band, from_kaggle, kaggle_path, read_kaggle

PATH = kaggle_path()


def _raw(rows):
    columns = ["PatientId", "AppointmentID", "ScheduledDay", "AppointmentDay", "Age", "Scholarship", "SMS_received", "No-show", "Neighbourhood"]
    return pd.DataFrame(rows, columns=columns)


def test_quirks_and_mapping():
    raw = _raw(
        [
            ["29872499824296", 1, "2016-04-29T18:38:08Z", "2016-04-29T00:00:00Z", 62, 0, 0, "No", "JARDIM DA PENHA"],
            ["29872499824296", 2, "2016-04-29T19:00:00Z", "2016-05-03T00:00:00Z", 62, 0, 1, "Yes", "JARDIM DA PENHA"],
            ["29872499824296", 3, "2016-04-30T08:00:00Z", "2016-05-04T00:00:00Z", 62, 0, 1, "No", "JARDIM DA PENHA"],
            ["93779.52927", 4, "2016-05-10T10:00:00Z", "2016-05-09T00:00:00Z", 5, 1, 0, "Yes", "CENTRO"],  # before booking
            ["93779.52927", 5, "2016-05-10T10:00:00Z", "2016-05-12T00:00:00Z", -1, 1, 0, "Yes", "CENTRO"],  # negative age
        ]
    )
    appts = from_kaggle(raw)
    assert list(appts.columns) == list(APPOINTMENT_COLUMNS)
    assert appts["appointment_id"].tolist() == ["1", "2", "3", "5"]  # the impossible row is dropped
    assert appts["lead_days"].tolist() == [0.0, 4.0, 4.0, 2.0]
    assert appts["reminder_sent"].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert appts["payer_kind"].tolist() == ["other", "other", "other", "medicaid"]
    assert appts["age_band"].iloc[0] == "50-64" and pd.isna(appts["age_band"].iloc[3])
    assert appts["start_hour"].isna().all() and appts["start_weekday"].iloc[0] == 4  # a Friday
    assert no_show_labels(appts).tolist() == [0.0, 1.0, 0.0, 1.0]

    features = no_show_features(appts)
    # Appointment 1 was on Apr 29: unknown to a booking made the same day (2), known the next day (3).
    assert features["prior_outcomes"].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert features["prior_bookings"].tolist() == [0.0, 1.0, 2.0, 0.0]


def test_age_bands():
    bands = age_band(pd.Series([0, 17, 18, 64, 65, 75, 115, -1]))
    assert bands.tolist()[:7] == ["0-17", "0-17", "18-34", "50-64", "65-74", "75+", "75+"]
    assert pd.isna(bands.iloc[7])


@pytest.mark.skipif(PATH is None, reason="shared/data/noshow/KaggleV2-May-2016.csv.zip not found beside the project")
def test_real_file_sample_runs_through_the_features():
    appts = read_kaggle(nrows=3000)
    assert len(appts) >= 2990 and appts["booked_at"].dt.tz is not None
    features = no_show_features(appts)
    assert features["lead_days"].ge(0).all()
    assert no_show_labels(appts).mean() == pytest.approx(0.2, abs=0.05)
