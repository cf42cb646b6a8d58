"""Pydantic models of the AgentRelease artifact: the single definition of the release format.

The format is the Recif project's "GitOps Artifacts" ``AgentRelease``, so its names and nesting
are kept as they are (``apiVersion``/``kind`` camelCase, every other key snake_case) and it has
no ``schemaVersion`` of ours: ``apiVersion`` versions it. Field order here is the key order of
the canonical serialisation (:mod:`pytest_agentv.releases.canonical`); do not reorder fields.
Unknown fields are errors, so a typo never silently drops part of a configuration.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

ApiVersion = Literal["agents.recif.dev/v1"]
Kind = Literal["AgentRelease"]
API_VERSION: ApiVersion = "agents.recif.dev/v1"
KIND: Kind = "AgentRelease"

Status = Literal["pending_eval", "active", "rejected", "archived", "deleted"]
STATUSES: tuple[Status, ...] = ("pending_eval", "active", "rejected", "archived", "deleted")
RiskProfile = Literal["low", "standard", "high"]

# Everything but `metadata`: the configuration, which never changes after its first commit.
CONFIG_SECTIONS = ("runtime", "agent", "governance", "deployment")

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
DNS_LABEL_RULE = (
    "a DNS-1123 label: 1-63 lowercase letters, digits and '-', starting and ending with a "
    "letter or digit"
)


def check_slug(value: str) -> str:
    """Return ``value`` if it is a DNS-1123 label (the agent's directory and Kubernetes name)."""
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(f"must be {DNS_LABEL_RULE}")
    return value


def _quantity(value: object) -> object:
    # Kubernetes quantities are written `cpu: 1` as often as `cpu: "1"`: both mean the same.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _sorted_keys(value: dict[str, str]) -> dict[str, str]:
    # Free-form maps are stored with sorted keys, so the input's key order never changes a checksum.
    return dict(sorted(value.items()))


Slug = Annotated[str, AfterValidator(check_slug)]
Quantities = Annotated[
    dict[str, Annotated[str, BeforeValidator(_quantity)]], AfterValidator(_sorted_keys)
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Evaluation(_Model):
    """The gate's evidence: which run decided the status, with what score against what bar."""

    run_id: str
    score: float = Field(ge=0, le=100, allow_inf_nan=False)
    threshold: float = Field(ge=0, le=100, allow_inf_nan=False)
    metric: str = Field(description="'pass_rate' or the name of the metric averaged")
    results_branch: str
    release_checksum: str = Field(description="the checksum of the release as evaluated")


class Metadata(_Model):
    """Who made which version when, and where it is in its life."""

    name: Slug
    version: int = Field(ge=1)
    previous: int = Field(ge=0)
    author: str
    timestamp: str
    changelog: str = ""
    checksum: str = ""
    status: Status = "pending_eval"
    evaluation: Evaluation | None = None


class Resources(_Model):
    requests: Quantities = Field(default_factory=dict)
    limits: Quantities = Field(default_factory=dict)


class Runtime(_Model):
    image: str
    channel: str = "rest"
    strategy: str = "agent-react"
    replicas: int = Field(default=1, ge=0)
    resources: Resources = Field(default_factory=Resources)


class ModelRef(_Model):
    provider: str
    id: str


class Memory(_Model):
    backend: str


class Agent(_Model):
    model: ModelRef
    system_prompt: str
    skills: list[str] = Field(default_factory=list)
    tools: list[str] = Field(default_factory=list)
    knowledge_bases: list[str] = Field(default_factory=list)
    memory: Memory | None = None


class Governance(_Model):
    guards: list[str] = Field(default_factory=list)
    risk_profile: RiskProfile = "standard"
    policies: list[str] = Field(default_factory=list)
    eval_dataset: str | None = None
    min_quality_score: float = Field(ge=0, le=100, allow_inf_nan=False)


class Deployment(_Model):
    namespace: Slug
    environment: str


class AgentRelease(_Model):
    """One version of an agent: ``agents/<slug>/releases/v<N>.yaml`` (and ``current.yaml``)."""

    api_version: ApiVersion = Field(default=API_VERSION, alias="apiVersion")
    kind: Kind = KIND
    metadata: Metadata
    runtime: Runtime
    agent: Agent
    governance: Governance
    deployment: Deployment

    @property
    def slug(self) -> str:
        return self.metadata.name

    @property
    def version(self) -> int:
        return self.metadata.version

    @property
    def status(self) -> Status:
        return self.metadata.status


class DraftMetadata(_Model):
    """The metadata of a file given to ``create``: only ``name`` is required.

    ``create`` fills in the rest; a ``version``, ``previous`` or ``status`` the file does give
    must agree with what ``create`` would write, and ``author``, ``timestamp`` and ``checksum``
    are replaced.
    """

    name: Slug
    version: int | None = Field(default=None, ge=1)
    previous: int | None = Field(default=None, ge=0)
    author: str | None = None
    timestamp: str | None = None
    changelog: str = ""
    checksum: str | None = None
    status: Literal["pending_eval"] | None = None


class ReleaseDraft(_Model):
    """A release as a user writes it, before ``create`` numbers and checksums it."""

    api_version: ApiVersion = Field(default=API_VERSION, alias="apiVersion")
    kind: Kind = KIND
    metadata: DraftMetadata
    runtime: Runtime
    agent: Agent
    governance: Governance
    deployment: Deployment


class TombstoneMetadata(_Model):
    name: Slug
    version: int = Field(ge=1, description="the version that was current when deleted")
    previous: int = Field(ge=0)
    author: str
    timestamp: str
    changelog: str
    checksum: str = ""
    status: Literal["deleted"] = "deleted"
    deleted_at: str


class ReleaseTombstone(_Model):
    """``current.yaml`` of a deleted agent: the release files stay, nothing is deployed."""

    api_version: ApiVersion = Field(default=API_VERSION, alias="apiVersion")
    kind: Kind = KIND
    metadata: TombstoneMetadata


Artifact = AgentRelease | ReleaseTombstone
