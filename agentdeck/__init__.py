"""agentdeck: a multi-tenant AI-agent platform, GraphQL-first with a generated REST layer."""

__version__ = "0.1.0"
