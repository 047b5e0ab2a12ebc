"""Agents and workflows as data. Adding an agent is adding an AgentSpec to SPECS; a workflow, a WorkflowSpec."""

from agentdeck.domain.catalog.agents import DEFAULT_AGENT, SPECS, AgentSpec, Handoff, resolve_agent
from agentdeck.domain.catalog.workflows import WORKFLOWS, WorkflowSpec, WorkflowStage, WorkflowStep

__all__ = [
    "DEFAULT_AGENT",
    "SPECS",
    "WORKFLOWS",
    "AgentSpec",
    "Handoff",
    "WorkflowSpec",
    "WorkflowStage",
    "WorkflowStep",
    "resolve_agent",
]
