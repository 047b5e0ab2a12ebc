"""The shipped workflows, declared as data next to the agent specs.

A workflow is a list of stages run in order. A stage is `sequential` (each step gets the previous
step's output, optionally reshaped by an input mapper) or `parallel` (every step gets the stage's
input; the branch outputs are merged by a reducer). A step names an agent, and may name a guard
(a predicate on its input; false skips the step). Mappers, guards and reducers are referred to by
name so a spec stays plain data; their functions live in the registries below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentdeck.domain.catalog.agents import SPECS


@dataclass(frozen=True)
class StepInput:
    original: str  # the run's request message
    previous: str  # the previous step's (or stage's) output; the request message for the first step


def passthrough(value: StepInput) -> str:
    return value.previous


def to_pdf_prompt(value: StepInput) -> str:
    return f"Lay out the following research as a well-structured PDF report about: {value.original}\n\n{value.previous}"


def concat_outputs(outputs: list[str]) -> str:
    return "\n\n".join(o for o in outputs if o)


def has_input(value: StepInput) -> bool:
    return bool(value.previous.strip())


MAPPERS: dict[str, Callable[[StepInput], str]] = {"passthrough": passthrough, "to_pdf_prompt": to_pdf_prompt}
GUARDS: dict[str, Callable[[StepInput], bool]] = {"has_input": has_input}
REDUCERS: dict[str, Callable[[list[str]], str]] = {"concat_outputs": concat_outputs}
DEFAULT_REDUCER = "concat_outputs"  # a parallel stage's, when it names none


@dataclass(frozen=True)
class WorkflowStep:
    agent_key: str
    name: str | None = None  # defaults to the agent key
    input_mapper: str | None = None
    guard: str | None = None
    max_turns: int | None = None
    output_schema: dict[str, Any] | None = None

    @property
    def step_name(self) -> str:
        return self.name or self.agent_key


@dataclass(frozen=True)
class WorkflowStage:
    name: str
    steps: tuple[WorkflowStep, ...]
    mode: str = "sequential"  # sequential | parallel
    reducer: str | None = None  # parallel stages: merges the branch outputs (default DEFAULT_REDUCER)

    @property
    def merged_by(self) -> str | None:
        """The reducer that merges the stage's outputs: a parallel stage's, None for a sequential one."""
        return (self.reducer or DEFAULT_REDUCER) if self.mode == "parallel" else None


@dataclass(frozen=True)
class WorkflowSpec:
    key: str
    display_name: str
    description: str
    stages: tuple[WorkflowStage, ...]
    default: bool = False
    allow_handoff_agents: bool = False
    output_schema: dict[str, Any] | None = None

    @property
    def step_count(self) -> int:
        return sum(len(stage.steps) for stage in self.stages)


_WORKFLOWS = (
    WorkflowSpec(
        "analysis_code",
        "Analysis then Code",
        "Research the request, then hand the analysis to the code assistant.",
        stages=(
            WorkflowStage(
                "stage-1",
                (
                    WorkflowStep("researcher", "analysis"),
                    WorkflowStep("code_assistant", "code", input_mapper="passthrough"),
                ),
            ),
        ),
        default=True,
    ),
    WorkflowSpec(
        "analysis_parallel",
        "Parallel Analysis + Code",
        "Analysis and code in parallel, then a synthesis of both.",
        stages=(
            WorkflowStage(
                "fanout",
                (WorkflowStep("researcher", "analysis"), WorkflowStep("code_assistant", "code")),
                mode="parallel",
                reducer="concat_outputs",
            ),
            WorkflowStage("synthesis", (WorkflowStep("code_assistant", "synthesis"),)),
        ),
    ),
    WorkflowSpec(
        "research_report_pdf",
        "Research to PDF Report",
        "Research a topic, then lay the findings out as a PDF report.",
        stages=(
            WorkflowStage(
                "stage-1",
                (
                    WorkflowStep("researcher", "research"),
                    WorkflowStep("pdf_designer", "pdf_report", input_mapper="to_pdf_prompt"),
                ),
            ),
        ),
    ),
)

WORKFLOWS: dict[str, WorkflowSpec] = {spec.key: spec for spec in _WORKFLOWS}


def validate(specs: tuple[WorkflowSpec, ...]) -> None:
    """Unknown agents, mappers, guards or reducers and empty stages are errors naming the spec."""
    defaults = [s.key for s in specs if s.default]
    if len(defaults) > 1:
        raise ValueError(f"workflow specs {defaults}: more than one default")
    for spec in specs:
        problems: list[str] = []
        if not spec.stages:
            problems.append("no stages")
        for stage in spec.stages:
            if not stage.steps:
                problems.append(f"stage '{stage.name}' has no steps")
            if stage.mode not in ("sequential", "parallel"):
                problems.append(f"stage '{stage.name}' has unknown mode '{stage.mode}'")
            if stage.reducer is not None and stage.reducer not in REDUCERS:
                problems.append(f"stage '{stage.name}' has unknown reducer '{stage.reducer}'")
            for step in stage.steps:
                if step.agent_key not in SPECS:
                    problems.append(f"step '{step.step_name}' names unknown agent '{step.agent_key}'")
                if step.input_mapper is not None and step.input_mapper not in MAPPERS:
                    problems.append(f"step '{step.step_name}' has unknown input mapper '{step.input_mapper}'")
                if step.guard is not None and step.guard not in GUARDS:
                    problems.append(f"step '{step.step_name}' has unknown guard '{step.guard}'")
                if step.max_turns is not None and step.max_turns < 1:
                    problems.append(f"step '{step.step_name}' has max_turns {step.max_turns} (at least 1)")
        if problems:
            raise ValueError(f"workflow spec '{spec.key}': " + "; ".join(problems))


validate(_WORKFLOWS)
