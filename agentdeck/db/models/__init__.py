"""All models, imported so that `Base.metadata` knows every table."""

from agentdeck.db.models.identity import AuthSession, Membership, User
from agentdeck.db.models.mail import OutboxMessage
from agentdeck.db.models.tenancy import Tenant

__all__ = ["AuthSession", "Membership", "User", "OutboxMessage", "Tenant"]
