"""DSL0xx: the document as a whole: loading, version, kind, app, workflow, features, dependencies, variables."""

from __future__ import annotations

from collections.abc import Iterator

from packaging.version import InvalidVersion, Version

from core.dsl.models import VariableValueType
from core.dsl.rules._context import WORKFLOW_MODES, Context
from core.dsl.rules._registry import Issue, rule

APP_MODES = ("workflow", "advanced-chat", "chat", "agent-chat", "completion")
VALUE_TYPES = frozenset(VariableValueType.__args__)
FILE_TYPES = frozenset({"image", "document", "audio", "video", "custom"})
UPLOAD_METHODS = frozenset({"remote_url", "local_file", "tool_file", "datasource_file"})


def _load_failed(ctx: Context, kind: str) -> Iterator[Issue]:
    if ctx.load_error_kind == kind:
        yield Issue(ctx.load_error or "", hint=ctx.load_error_hint)


@rule("DSL001", "error")
def yaml_syntax_error(ctx: Context) -> Iterator[Issue]:
    """The content cannot be loaded as YAML.

    What it does: reports text that PyYAML's safe loader cannot parse (with the line and column), bytes
    that are not text, and structures nested over 1000 levels deep.
    Why is this bad: Dify parses the DSL with `yaml.safe_load`; the import fails at once.
    Example: `app: {mode: workflow` (an unclosed flow mapping).
    Fix: export the app again from Dify, or fix the YAML at the reported position.
    """
    yield from _load_failed(ctx, "syntax")


@rule("DSL002", "error")
def content_too_large(ctx: Context) -> Iterator[Issue]:
    """The content is larger than Dify's 10 MB limit.

    What it does: refuses content over 10 MB before parsing it.
    Why is this bad: Dify rejects DSL content over `DSL_MAX_SIZE` (10 MB).
    Example: a DSL with a huge base64 image inlined in a prompt.
    Fix: remove large embedded values; reference files instead.
    """
    yield from _load_failed(ctx, "size")


@rule("DSL003", "error")
def alias_bomb(ctx: Context) -> Iterator[Issue]:
    """YAML aliases expand to an absurd size (an alias bomb, "billion laughs").

    What it does: counts how many nodes anchors and aliases expand to, and refuses beyond a million.
    Why is this bad: expanding it exhausts memory and time; Dify exports never use aliases.
    Example: `a: &a [x, x]`, `b: &b [*a, *a]`, ... nested ten levels deep.
    Fix: write the values out; remove `&anchor` / `*alias` pairs.
    """
    yield from _load_failed(ctx, "bomb")


@rule("DSL004", "error")
def document_not_mapping(ctx: Context) -> Iterator[Issue]:
    """The YAML is not a mapping.

    What it does: reports a document that parsed into a list, a scalar, or nothing.
    Why is this bad: Dify fails with "Invalid YAML format: content must be a mapping".
    Example: `- app: ...` (a list) or an empty file.
    Fix: the file must start with top-level keys `app:`, `kind:`, `version:`, `workflow:`.
    """
    if ctx.load_error_kind is None and not isinstance(ctx.doc, dict):
        kind = "empty" if ctx.doc is None else f"a {type(ctx.doc).__name__}"
        yield Issue(
            f"The DSL must be a YAML mapping, but this document is {kind}.",
            hint="A Dify export starts with top-level keys such as `app:`, `version:` and `workflow:`.",
        )


@rule("DSL005", "error")
def file_unreadable(ctx: Context) -> Iterator[Issue]:
    """The file cannot be read as a DSL file.

    What it does: reports a path that is not a regular readable file: a FIFO (named pipe), socket or
    device, a symlink loop or a symlink to nothing, a folder, or a file the operating system refuses
    to open. Only file-based checks (`python -m core validate PATH`) report it.
    Why is this bad: there is no DSL to import; reading a FIFO would block forever.
    Example: `mkfifo flow.yml`; `ln -s loop.yml loop.yml`.
    Fix: pass regular DSL files (a Dify export saved as `.yml`).
    """
    yield from _load_failed(ctx, "unreadable")


@rule("DSL010", "error")
def version_not_string(ctx: Context) -> Iterator[Issue]:
    """`version` is not a string.

    What it does: reports a `version` YAML reads as a number, list or mapping.
    Why is this bad: Dify's import fails with "Invalid version type, expected str".
    Example: `version: 0.6` (YAML reads a float).
    Fix: quote it: `version: "0.6.0"`.
    """
    version = ctx.mapping.get("version")
    if version is not None and version != "" and not isinstance(version, str):
        yield Issue(
            f"`version` must be a string, not {type(version).__name__} {version!r}.",
            "$.version",
            hint=f'Quote it, e.g. version: "{ctx.target_version}".',
        )


def _parsed_version(ctx: Context) -> Version | None:
    version = ctx.mapping.get("version")
    if not isinstance(version, str) or not version:
        return None
    try:
        return Version(version)
    except InvalidVersion:
        return None


@rule("DSL011", "error")
def version_unparsable(ctx: Context) -> Iterator[Issue]:
    """`version` is not a version number.

    What it does: parses `version` as Dify does (`packaging.version.parse`).
    Why is this bad: an unparsable version makes the import status `failed`.
    Example: `version: latest`.
    Fix: use the DSL version Dify exported, e.g. `0.6.0`.
    """
    version = ctx.mapping.get("version")
    if isinstance(version, str) and version and _parsed_version(ctx) is None:
        yield Issue(
            f"`version` {version!r} is not a version number.",
            "$.version",
            hint=f'Use a DSL version such as "{ctx.target_version}".',
        )


@rule("DSL012", "warning")
def version_compatibility(ctx: Context) -> Iterator[Issue]:
    """The DSL version differs from the version the target Dify writes.

    What it does: compares `version` with the target as Dify's `check_version_compatibility` does:
    newer than the target or an older major version -> warning (Dify asks the user to confirm the
    import); an older minor version -> warning (imported "completed-with-warnings").
    Why is this bad: the import needs confirmation, or Dify warns that the file is from an older release.
    Example: `version: 0.7.0` imported into a Dify that writes `0.6.0`.
    Fix: export from (or generate for) the Dify release you import into.
    """
    imported = _parsed_version(ctx)
    try:
        current = Version(ctx.target_version)
    except InvalidVersion:
        return
    if imported is None:
        return
    if imported > current:
        yield Issue(
            f"DSL version {imported} is newer than the target {current}: Dify will ask to confirm "
            "the import.",
            "$.version",
            hint=f"Set version to {current} if the file is compatible.",
        )
    elif imported.major < current.major:
        yield Issue(
            f"DSL version {imported} is an older major version than {current}: Dify will ask to "
            "confirm the import.",
            "$.version",
        )
    elif imported.minor < current.minor:
        yield Issue(
            f"DSL version {imported} is older than {current}: Dify imports it with warnings "
            "(completed-with-warnings).",
            "$.version",
            hint="Open and re-export it in a current Dify to refresh it.",
        )


@rule("DSL013", "info")
def version_missing(ctx: Context) -> Iterator[Issue]:
    """`version` is missing.

    What it does: notes a document without `version`.
    Why is this bad: Dify assumes `0.1.0`, the oldest format, and imports with warnings.
    Example: a hand-written DSL with no `version:` key.
    Fix: add `version: "0.6.0"`.
    """
    if ctx.mapping and ctx.mapping.get("version") in (None, ""):
        yield Issue(
            "No `version`: Dify treats the file as DSL 0.1.0.",
            "$",
            hint=f'Add version: "{ctx.target_version}".',
        )


@rule("DSL020", "warning")
def kind_not_app(ctx: Context) -> Iterator[Issue]:
    """`kind` is not `app`.

    What it does: reports a `kind` other than `app`.
    Why is this bad: Dify silently replaces it with `app`; another kind (e.g. `rag_pipeline`) is a
    different kind of DSL that this validator does not cover.
    Example: `kind: workflow`.
    Fix: set `kind: app`.
    """
    kind = ctx.mapping.get("kind")
    if "kind" in ctx.mapping and kind != "app":
        yield Issue(f"`kind` is {kind!r}; Dify app exports use `app`.", "$.kind", hint="Set kind: app.")


@rule("DSL021", "error")
def app_missing(ctx: Context) -> Iterator[Issue]:
    """The `app` section is missing or empty.

    What it does: requires a non-empty `app` mapping.
    Why is this bad: Dify fails with "Missing app data in YAML content".
    Example: a file with only `workflow:`.
    Fix: add `app: {mode: workflow, name: ...}`.
    """
    if ctx.mapping and not (isinstance(ctx.mapping.get("app"), dict) and ctx.mapping["app"]):
        pattern_file = isinstance(ctx.mapping.get("metadata"), dict) and isinstance(ctx.mapping.get("dsl"), dict)
        yield Issue(
            "The `app` section is missing or empty.",
            "$.app",
            hint=(
                "This is a DifyForge pattern file: its Dify export sits under `dsl:`; import or validate that part "
                "(the Patterns page and `python -m core patterns show ID` check it)."
                if pattern_file
                else "Add app: with at least `mode` (workflow or advanced-chat) and `name`."
            ),
        )


@rule("DSL022", "error")
def app_mode_invalid(ctx: Context) -> Iterator[Issue]:
    """`app.mode` is missing or not a Dify app mode.

    What it does: requires `app.mode` to be one of workflow, advanced-chat, chat, agent-chat, completion.
    Why is this bad: Dify fails with "loss app mode" or "Invalid app mode".
    Example: `mode: chatflow`.
    Fix: use `workflow` or `advanced-chat` (the Chatflow).
    """
    if not ctx.app:
        return
    mode = ctx.app.get("mode")
    if mode is None:
        yield Issue("`app.mode` is missing.", "$.app", hint="Add mode: workflow or mode: advanced-chat.")
    elif mode not in APP_MODES:
        yield Issue(
            f"`app.mode` {mode!r} is not a Dify app mode.",
            "$.app.mode",
            hint=f"Use one of {', '.join(APP_MODES)}.",
        )


@rule("DSL023", "info")
def mode_not_checked(ctx: Context) -> Iterator[Issue]:
    """The app is a chat, agent-chat or completion app; only workflow graphs are checked.

    What it does: notes that the graph rules were skipped for modes without a workflow graph.
    Why is this bad: it is not bad; those apps carry `model_config` instead of a graph.
    Example: `app: {mode: chat}`.
    Fix: none needed.
    """
    if ctx.mode in ("chat", "agent-chat", "completion"):
        yield Issue(
            f"`{ctx.mode}` apps have no workflow graph; only workflow and advanced-chat graphs are checked.",
            "$.app.mode",
        )


@rule("DSL024", "warning")
def app_field_type(ctx: Context) -> Iterator[Issue]:
    """`app.name` is not a string, or `app.icon_type` is not emoji, image or link.

    What it does: checks the types of the `app` fields Dify reads.
    Why is this bad: a non-string name breaks app creation; an unknown icon type is replaced by emoji.
    Example: `name: 42`, `icon_type: svg`.
    Fix: quote the name; use `icon_type: emoji`.
    """
    app = ctx.app
    for key in ("name", "description"):
        if key in app and app[key] is not None and not isinstance(app[key], str):
            yield Issue(
                f"`app.{key}` must be a string.", f"$.app.{key}", severity="error", hint=f"Quote the {key}."
            )
    if app.get("icon_type") not in (None, "emoji", "image", "link"):
        yield Issue(
            f"`app.icon_type` {app.get('icon_type')!r} is not emoji, image or link; Dify uses emoji.",
            "$.app.icon_type",
            hint="Use icon_type: emoji.",
        )


@rule("DSL030", "error")
def workflow_missing(ctx: Context) -> Iterator[Issue]:
    """A workflow or advanced-chat app has no `workflow` mapping.

    What it does: requires `workflow` to be a mapping for those modes.
    Why is this bad: Dify fails with "Missing workflow data for workflow/advanced chat app".
    Example: `app: {mode: workflow}` with no `workflow:` key.
    Fix: add the `workflow:` section with `graph`, `features` and variables.
    """
    if ctx.mode in WORKFLOW_MODES and not isinstance(ctx.mapping.get("workflow"), dict):
        yield Issue(
            f"`{ctx.mode}` apps need a `workflow` mapping.",
            "$.workflow",
            hint="Add workflow: {graph: {nodes: [...], edges: [...]}, features: {}}.",
        )


@rule("DSL031", "error")
def graph_shape(ctx: Context) -> Iterator[Issue]:
    """`workflow.graph`, its `nodes` or its `edges` have the wrong type.

    What it does: requires `graph` to be a mapping with `nodes` and `edges` lists.
    Why is this bad: Dify cannot build the graph; the app does not open or run.
    Example: `graph: {nodes: {}}`.
    Fix: `graph: {nodes: [...], edges: [...]}`.
    """
    if not ctx.checks_graph:
        return
    graph = ctx.workflow.get("graph")
    if not isinstance(graph, dict):
        yield Issue(
            "`workflow.graph` must be a mapping with `nodes` and `edges`.",
            "$.workflow.graph",
            hint="Add graph: {nodes: [...], edges: [...]}.",
        )
        return
    for key in ("nodes", "edges"):
        if key not in graph and key == "edges":
            continue
        if not isinstance(graph.get(key), list):
            yield Issue(
                f"`workflow.graph.{key}` must be a list.",
                f"$.workflow.graph.{key}",
                hint=f"Write {key}: [] as a YAML list.",
            )


def _feature_problems(features: dict, mode: str) -> Iterator[tuple[str, str]]:
    for key in (
        "file_upload",
        "text_to_speech",
        "sensitive_word_avoidance",
        "speech_to_text",
        "retriever_resource",
        "suggested_questions_after_answer",
    ):
        value = features.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            yield key, f"`features.{key}` must be a mapping"
        elif "enabled" in value and not isinstance(value["enabled"], bool):
            yield f"{key}.enabled", f"`enabled` in {key} must be of boolean type"
    upload = features.get("file_upload")
    if isinstance(upload, dict):
        for key, allowed in (
            ("allowed_file_types", FILE_TYPES),
            ("allowed_file_upload_methods", UPLOAD_METHODS),
        ):
            values = upload.get(key)
            if values is not None and (
                not isinstance(values, list)
                or any(not isinstance(v, str) or v not in allowed for v in values)
            ):
                yield f"file_upload.{key}", f"`file_upload.{key}` must list values from {sorted(allowed)}"
    if mode == "advanced-chat":
        if features.get("opening_statement") is not None and not isinstance(
            features["opening_statement"], str
        ):
            yield "opening_statement", "opening_statement must be of string type"
        questions = features.get("suggested_questions")
        if questions is not None and not (
            isinstance(questions, list) and all(isinstance(q, str) for q in questions)
        ):
            yield "suggested_questions", "suggested_questions must be a list of strings"


@rule("DSL032", "error")
def features_invalid(ctx: Context) -> Iterator[Issue]:
    """`workflow.features` is not a mapping, or a feature has the wrong type.

    What it does: applies Dify's `validate_features_structure` type checks for the app mode.
    Why is this bad: Dify rejects the import or the draft save ("... must be of boolean type").
    Example: `features: {text_to_speech: {enabled: "yes"}}`.
    Fix: use the types Dify writes: booleans for `enabled`, a string opening statement.
    """
    if not ctx.checks_graph or "features" not in ctx.workflow:
        return
    features = ctx.workflow["features"]
    if not isinstance(features, dict):
        yield Issue("`workflow.features` must be a mapping.", "$.workflow.features", hint="Use features: {}.")
        return
    for key, message in _feature_problems(features, ctx.mode or ""):
        yield Issue(message + ".", f"$.workflow.features.{key}", hint="Fix the feature value's type.")


@rule("DSL033", "error")
def dependency_invalid(ctx: Context) -> Iterator[Issue]:
    """A `dependencies` item is not a valid plugin dependency.

    What it does: checks each item has `type` (marketplace, github or package) and a `value` mapping.
    Why is this bad: Dify validates each item as `PluginDependency`; one bad item fails the import.
    Example: `dependencies: [{type: pypi, value: openai}]`.
    Fix: remove the item, or write it as Dify exports it.
    """
    deps = ctx.mapping.get("dependencies")
    if deps is None or not ctx.mapping:
        return
    if not isinstance(deps, list):
        yield Issue("`dependencies` must be a list.", "$.dependencies", hint="Use dependencies: [].")
        return
    for i, dep in enumerate(deps):
        if (
            not isinstance(dep, dict)
            or dep.get("type") not in ("marketplace", "github", "package")
            or not isinstance(dep.get("value"), dict)
        ):
            yield Issue(
                f"Dependency {i} is not a plugin dependency (type marketplace/github/package with a "
                "value mapping).",
                f"$.dependencies[{i}]",
                hint="Remove it or re-export the app.",
            )


def _variable_problems(item: object, key: str) -> Iterator[tuple[str, str]]:
    if not isinstance(item, dict):
        yield "", "is not a mapping"
        return
    name = item.get("name")
    if not isinstance(name, str) or not name:
        yield ".name", "has no name"
    value_type = item.get("value_type")
    if not isinstance(value_type, str) or value_type not in VALUE_TYPES:
        yield ".value_type", f"has value_type {value_type!r}, which Dify does not support"
    if "value" not in item or item["value"] is None:
        yield ".value", "has no value (it must not be null)"
        return
    value = item["value"]
    if not isinstance(value_type, str):
        return
    expected = {"object": dict, "string": str, "secret": str, "boolean": bool}.get(value_type)
    if value_type.startswith("array["):
        expected = list
    if value_type in ("number", "integer", "float") and (
        isinstance(value, bool) or not isinstance(value, int | float)
    ):
        yield ".value", f"value {value!r} is not a number"
    elif expected is not None and not isinstance(value, expected):
        yield ".value", f"value {value!r} does not match value_type {value_type}"
    description = item.get("description")
    if key == "conversation_variables" and isinstance(description, str) and len(description) > 255:
        yield ".description", "has a description over 255 characters"


@rule("DSL040", "error")
def variable_declaration_invalid(ctx: Context) -> Iterator[Issue]:
    """An environment or conversation variable cannot be built.

    What it does: checks `name`, `value_type` and `value` as Dify's `variable_factory` does.
    Why is this bad: the import fails ("not supported value type", missing name or value).
    Example: `{name: api_key, value_type: file, value: null}`.
    Fix: give a name, a supported value_type (string, secret, number, boolean, object, array[...]) and a
    value of that type.
    """
    for key in ("environment_variables", "conversation_variables"):
        items = ctx.workflow.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            yield Issue(f"`workflow.{key}` must be a list.", f"$.workflow.{key}", hint=f"Use {key}: [].")
            continue
        for i, item in enumerate(items):
            for suffix, problem in _variable_problems(item, key):
                yield Issue(
                    f"{key[:-1].replace('_', ' ').capitalize()} {i} {problem}.",
                    f"$.workflow.{key}[{i}]{suffix}",
                    hint="Fix the variable's name, value_type or value.",
                )


@rule("DSL041", "error")
def variable_name_duplicate(ctx: Context) -> Iterator[Issue]:
    """Two environment (or two conversation) variables share a name.

    What it does: requires variable names to be unique within each list.
    Why is this bad: references are by name; one of them silently wins.
    Example: two `environment_variables` named `api_key`.
    Fix: rename or remove one.
    """
    for key in ("environment_variables", "conversation_variables"):
        items = ctx.workflow.get(key)
        seen: set[str] = set()
        for i, item in enumerate(items if isinstance(items, list) else ()):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str) and name:
                if name in seen:
                    yield Issue(
                        f"Duplicate name {name!r} in {key}.",
                        f"$.workflow.{key}[{i}].name",
                        hint="Give each variable its own name.",
                    )
                seen.add(name)


@rule("DSL042", "warning")
def conversation_variables_in_workflow(ctx: Context) -> Iterator[Issue]:
    """A workflow-mode app declares conversation variables.

    What it does: flags conversation variables outside advanced-chat.
    Why is this bad: conversation variables only exist in Chatflows; a workflow cannot use them.
    Example: `mode: workflow` with `conversation_variables: [{name: history, ...}]`.
    Fix: use environment variables or node outputs instead, or switch to advanced-chat.
    """
    items = ctx.workflow.get("conversation_variables")
    if ctx.mode == "workflow" and isinstance(items, list) and items:
        yield Issue(
            "Conversation variables are declared, but only advanced-chat apps have conversations.",
            "$.workflow.conversation_variables",
            hint="Remove them or switch the app to advanced-chat.",
        )
