"""PHI never reaches the logs: drive the API with marker values and grep everything logged."""

import logging

import pytest
from fastapi.testclient import TestClient

from pms.logging import REDACTED, get_logger, redact
from tests.security.routes import PHI_PREFIXES, api_routes
from tests.security.world import build_world

MARKERS = {
    "first_name": "Zyxmarkfirst", "last_name": "Qvwmarklast", "date_of_birth": "1931-07-19",
    "phone": "555-314-1592", "email": "zyx.mark@example.org", "member_id": "MBRMARK7731",
    "group_number": "GRPMARK55", "line1": "77 Markerhill Road",
}
PATIENT = {**{k: MARKERS[k] for k in ("first_name", "last_name", "date_of_birth", "phone", "email")},
           "address": {"line1": MARKERS["line1"], "city": "Springfield", "state": "IL", "postal_code": "62704"}}


@pytest.fixture
def logs(caplog, capfd):
    """Everything logged through any logger at any level, plus whatever reached stdout/stderr."""
    caplog.set_level(logging.DEBUG)
    for name in ("uvicorn", "uvicorn.error", "fastapi", "starlette", "ops_api", "pms"):
        caplog.set_level(logging.DEBUG, logger=name)

    def read() -> str:
        out, err = capfd.readouterr()
        return "\n".join([caplog.text, out, err])

    return read


def assert_no_markers(text: str, extra: tuple[str, ...] = ()) -> None:
    found = [m for m in (*MARKERS.values(), *extra) if m.lower() in text.lower()]
    assert not found, f"PHI markers in the logs: {found}"


def test_driving_every_route_logs_no_phi(client, make, admin, logs):
    world = build_world(client, make, admin, patient=PATIENT, member_id=MARKERS["member_id"])
    patient_url = f"/api/v1/patients/{world.ids['patient_id']}"
    body = client.get(patient_url, headers=admin).json()
    mrn = body["mrn"]
    assert body["first_name"] == MARKERS["first_name"]  # the markers really flow through the API
    requests = [  # (method, path, body, expected status)
        ("GET", f"/api/v1/patients?q={MARKERS['first_name']}", None, 200),
        ("GET", f"/api/v1/patients?q={MARKERS['phone']}", None, 200),
        ("GET", f"/api/v1/patients?q={mrn}&limit=5", None, 200),
        ("PATCH", patient_url, {"email": MARKERS["email"], "phone": MARKERS["phone"]}, 200),
        ("PATCH", f"{patient_url}/coverages/{world.ids['coverage_id']}", {"group_number": MARKERS["group_number"]},
         200),
        ("POST", "/api/v1/patients", {**PATIENT, "sex": "F", "facility_id": world.ids["facility_id"]}, 409),
        ("POST", "/api/v1/patients", {**PATIENT, "email": MARKERS["first_name"], "facility_id": "x"}, 422),
        ("GET", f"/api/v1/patients/{MARKERS['first_name']}", None, 422),  # the id is not a UUID
        ("GET", f"/api/v1/nowhere/{MARKERS['last_name']}?q={MARKERS['first_name']}", None, 404),
    ]
    # ... and every GET route, with the marker patient's rows: PHI routes must answer with data.
    requests += [(method, world.fill(path), None, 200 if path.startswith(PHI_PREFIXES) else None)
                 for path, method, _ in api_routes(client.app) if method == "GET"]
    for method, path, json, expected in requests:
        r = client.request(method, path, json=json, headers=admin)
        assert r.status_code < 500 and expected in (None, r.status_code), (method, path, r.status_code, r.text)
    assert client.get(f"{patient_url}/coverages", headers=admin).json()[0]["member_id"] == MARKERS["member_id"]
    text = logs()
    assert text.count('"event": "request"') >= len(requests)  # the access log was captured: the grep means something
    assert f'"route": "/api/v1/patients/{{patient_id}}"' in text and '"request_id": "' in text
    assert_no_markers(text, extra=(mrn,))


def test_access_line_has_template_status_duration_request_and_user_but_no_query(client, auth, make, logs):
    headers = auth("front_desk")
    me = client.get("/api/v1/auth/me", headers=headers).json()
    logs()
    client.get(f"/api/v1/patients?q={MARKERS['last_name']}", headers={**headers, "X-Request-ID": "trace-77"})
    line = next(line for line in logs().splitlines() if "trace-77" in line and line.startswith("{"))
    for part in ('"method": "GET"', '"route": "/api/v1/patients"', '"status": 200', '"duration_ms": ',
                 '"request_id": "trace-77"', f'"user_id": "{me["id"]}"'):
        assert part in line
    assert "?" not in line and MARKERS["last_name"] not in line


def test_redaction_masks_phi_keys_at_any_depth_and_drops_bodies(logs):
    event = {"patient": {"first_name": "Ann", "Date-Of-Birth": "1990-01-01", "visits": [{"phone": "555"}]},
             "member_id": "M1", "body": "{...}", "query_string": "q=Ann", "route": "/api/v1/patients", "count": 3}
    assert redact(event) == {"patient": {"first_name": REDACTED, "Date-Of-Birth": REDACTED,
                                         "visits": [{"phone": REDACTED}]},
                             "member_id": REDACTED, "route": "/api/v1/patients", "count": 3}
    get_logger("ops_api.test").info("lookup", patient={"last_name": MARKERS["last_name"]}, q=MARKERS["first_name"])
    text = logs()
    assert '"event": "lookup"' in text
    assert_no_markers(text)


def test_exception_messages_are_withheld_from_log_output(app, capfd):
    """A database error can quote the row it failed on: our log lines keep the type and frames only."""
    @app.get("/api/v1/patients-explode", include_in_schema=False)
    def explode():
        raise ValueError(f"duplicate key (first_name)=({MARKERS['first_name']})")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/patients-explode")
    assert r.status_code == 500 and r.json()["detail"] == "internal server error" and r.json()["request_id"]
    try:
        raise ValueError(MARKERS["last_name"])
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")  # as uvicorn reports it
        get_logger("ops_api.test").exception("failed")
    err = capfd.readouterr().err
    assert '"error": "ValueError"' in err and '"status": 500' in err
    assert_no_markers(err)
