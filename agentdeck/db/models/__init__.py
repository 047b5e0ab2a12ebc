"""All models, imported so that `Base.metadata` knows every table."""

from agentdeck.db.models.tenancy import Tenant

__all__ = ["Tenant"]
