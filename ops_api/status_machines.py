"""The appointment and claim status machines of API.md, enforced here and nowhere else."""

from pms.enums import AppointmentStatus as A
from pms.enums import ClaimStatus as C

from ops_api.errors import Conflict

APPOINTMENT_MOVES: dict[A, frozenset[A]] = {
    A.scheduled: frozenset({A.confirmed, A.cancelled, A.no_show}),
    A.confirmed: frozenset({A.checked_in, A.cancelled, A.no_show}),
    A.checked_in: frozenset({A.completed}),
    A.completed: frozenset(),
    A.cancelled: frozenset(),
    A.no_show: frozenset(),
}

CLAIM_MOVES: dict[C, frozenset[C]] = {
    C.draft: frozenset({C.submitted, C.void}),
    C.submitted: frozenset({C.accepted, C.rejected}),
    C.rejected: frozenset({C.draft, C.void}),
    C.accepted: frozenset({C.paid, C.partially_paid, C.denied}),
    C.denied: frozenset({C.appealed, C.closed}),
    C.appealed: frozenset({C.paid, C.partially_paid, C.denied}),
    C.paid: frozenset({C.closed}),
    C.partially_paid: frozenset({C.closed}),
    C.closed: frozenset(),
    C.void: frozenset(),
}


def check_move(kind: str, moves: dict, current, target) -> None:
    """Raise 409 unless `current → target` is a move the machine allows."""
    if target not in moves[current]:
        allowed = ", ".join(sorted(m.value for m in moves[current])) or "none"
        raise Conflict(f"illegal {kind} status move {current.value} → {target.value} (allowed: {allowed})",
                       current_status=current.value)


def check_appointment_move(current: A, target: A) -> None:
    check_move("appointment", APPOINTMENT_MOVES, current, target)


def check_claim_move(current: C, target: C) -> None:
    check_move("claim", CLAIM_MOVES, current, target)
