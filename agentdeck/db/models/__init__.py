"""All models, imported so that `Base.metadata` knows every table."""

from agentdeck.db.models.account import AccountToken
from agentdeck.db.models.identity import AuthSession, Membership, User
from agentdeck.db.models.mail import OutboxMessage
from agentdeck.db.models.service_accounts import ServiceAccountToken
from agentdeck.db.models.signup import SignupInvite, SignupRequest
from agentdeck.db.models.tenancy import Tenant
from agentdeck.db.models.tenant_settings import TenantSettings

__all__ = ["AccountToken", "AuthSession", "Membership", "User", "OutboxMessage", "SignupInvite", "ServiceAccountToken", "SignupRequest", "Tenant", "TenantSettings"]
