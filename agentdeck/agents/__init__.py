"""Agents and (later) workflows as data. Adding an agent is adding an AgentSpec to SPECS."""

from agentdeck.agents.specs import DEFAULT_AGENT, SPECS, AgentSpec, Handoff, resolve_agent

__all__ = ["DEFAULT_AGENT", "SPECS", "AgentSpec", "Handoff", "resolve_agent"]
