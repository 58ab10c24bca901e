"""The signed-in user as services see them: role, facility scope, provider link, audit context."""

import uuid
from dataclasses import dataclass, field

from sqlalchemy import Select
from sqlalchemy.orm import Session

from ops_api import audit
from ops_api.errors import NotFound
from ops_api.models import User
from pms.enums import Role


@dataclass
class Principal:
    user: User
    client_addr: str | None = None
    request_id: str | None = None
    route: str = ""
    method: str = ""
    facility_scope: frozenset[uuid.UUID] | None = field(init=False)  # None: every facility

    def __post_init__(self):
        ids = self.user.facility_ids or []
        self.facility_scope = frozenset(uuid.UUID(str(f)) for f in ids) or None

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def role(self) -> Role:
        return self.user.role

    @property
    def own_provider_id(self) -> uuid.UUID | None:
        """Physicians see only their own clinical work; None means no such limit."""
        return self.user.provider_id if self.role == Role.physician else None

    def sees_facility(self, facility_id: uuid.UUID) -> bool:
        return self.facility_scope is None or facility_id in self.facility_scope

    def scope(self, query: Select, facility_column) -> Select:
        """Limit a query to the caller's facilities."""
        if self.facility_scope is None:
            return query
        return query.where(facility_column.in_(self.facility_scope))

    def get_scoped(self, session: Session, model, entity_id: uuid.UUID, what: str | None = None):
        """Load a row the caller may see, else 404: rows of other facilities do not exist for them."""
        row = session.get(model, entity_id)
        facility_id = getattr(row, "facility_id", None) if row is not None else None
        if row is None or (facility_id is not None and not self.sees_facility(facility_id)):
            raise NotFound(f"{what or model.__tablename__.rstrip('s')} {entity_id} not found")
        return row

    def audit(self, session: Session, action: str, entity: str, entity_id=None, patient_id=None,
              status_code: int = 200) -> None:
        """Record access to patient-level data in the caller's transaction (committed with the change)."""
        audit.record(session, action=action, entity=entity, entity_id=entity_id, patient_id=patient_id,
                     status_code=status_code, user_id=self.user.id, username=self.user.username,
                     role=self.role.value, route=self.route, method=self.method, client_addr=self.client_addr,
                     request_id=self.request_id)
