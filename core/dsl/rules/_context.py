"""What every rule reads: the parsed document, its app mode, the graph index and declared variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from core.dsl.graph import GraphIndex

WORKFLOW_MODES = frozenset({"workflow", "advanced-chat"})


@dataclass
class Context:
    """The input of every rule.

    Attributes:
        doc: the parsed document (any YAML value; rules check its shape before use).
        target_version: the DSL version Dify would import with (e.g. ``0.6.0``).
        load_error: why the text could not be loaded (too big, not YAML, alias bomb), if so.
        load_error_kind: ``size``, ``bomb`` or ``syntax`` when ``load_error`` is set.
    """

    doc: object
    target_version: str = "0.6.0"
    load_error: str | None = None
    load_error_kind: str | None = None
    load_error_hint: str | None = None
    extra: dict = field(default_factory=dict)

    @cached_property
    def mapping(self) -> dict:
        """The document when it is a mapping, else ``{}``."""
        return self.doc if isinstance(self.doc, dict) else {}

    @cached_property
    def app(self) -> dict:
        app = self.mapping.get("app")
        return app if isinstance(app, dict) else {}

    @cached_property
    def mode(self) -> str | None:
        mode = self.app.get("mode")
        return mode if isinstance(mode, str) else None

    @cached_property
    def checks_graph(self) -> bool:
        """Graph rules run only for workflow and advanced-chat apps with a workflow mapping."""
        return self.mode in WORKFLOW_MODES and isinstance(self.mapping.get("workflow"), dict)

    @cached_property
    def workflow(self) -> dict:
        workflow = self.mapping.get("workflow")
        return workflow if isinstance(workflow, dict) and self.checks_graph else {}

    @cached_property
    def graph(self) -> GraphIndex:
        return GraphIndex.build(self.mapping if self.checks_graph else None)

    def declared(self, key: str) -> dict[str, dict]:
        """Declared environment (``environment_variables``) or conversation variables by name."""
        items = self.workflow.get(key)
        found: dict[str, dict] = {}
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                found.setdefault(item["name"], item)
        return found

    @cached_property
    def env_names(self) -> set[str]:
        return set(self.declared("environment_variables"))

    @cached_property
    def conversation_names(self) -> set[str]:
        return set(self.declared("conversation_variables"))

    def node_path(self, node_id: str, suffix: str = "") -> str:
        """JSON path of a node (``$.workflow.graph.nodes[3]``) plus an optional suffix (``.data.model``)."""
        return f"$.workflow.graph.nodes[{self.graph.position.get(node_id, '?')}]{suffix}"
