"""Monitor declarations: :class:`MonitorSpec`, and loading them from ``monitors.yaml`` / ``monitors.toml``.

A file holds a ``monitors`` list and optional ``defaults`` applied to each entry::

    defaults:
      project: demo
      webhook: https://hooks.example.com/spanscope
    monitors:
      - name: quality-drop
        rule: avg(tag.quality_score) where trace.name = 'chatbot.turn' over 1d drops > 10% vs previous 7d
        every: 15m
        min_samples: 20
        dataset: quality-regressions

The same in TOML: a ``[defaults]`` table and ``[[monitors]]`` entries. Errors name the file, the entry and
the field (``monitors.yaml: monitors[1] (quality-drop): rule: … at column 12``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

import msgspec

from spanscope.monitors.rules import MonitorRuleError, Rule, parse_duration, parse_rule

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$"
RESERVED_NAMES = frozenset({"test", "evaluate", "history"})  # paths under /api/v1/monitors/


class MonitorSpecError(ValueError):
    """A monitor declaration that can't be used (bad field, bad rule, bad file)."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


class MonitorSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One monitor: a rule, where it applies, how often it runs and whom it tells."""

    name: Annotated[str, msgspec.Meta(pattern=NAME_PATTERN, description="letters, digits, '.', '_', '-'")]
    rule: Annotated[str, msgspec.Meta(min_length=1, description="e.g. error_rate where … > 5% over 15m")]
    project: str = "default"
    every: str | float | None = None  # "5m" or seconds; default: the monitors_interval setting
    min_samples: Annotated[int, msgspec.Meta(ge=1)] = 1
    webhook: str | None = None  # default: the monitors_webhook setting
    dataset: str | None = None  # add the offending traces to this dataset when the monitor fires
    dataset_mapping: dict[str, str] | None = None  # record fields -> paths; default input/output of the root
    max_offending: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 500
    examples: Annotated[int, msgspec.Meta(ge=0, le=100)] = 5
    severity: str = "warning"
    description: str | None = None
    enabled: bool = True

    def parsed(self) -> Rule:
        return parse_rule(self.rule)

    def every_s(self, default: float) -> float:
        if self.every is None:
            return default
        return float(self.every) if isinstance(self.every, int | float) else parse_duration(self.every)

    def validate(self) -> MonitorSpec:
        """Check the rule and ``every``; raises :class:`MonitorSpecError` naming the field."""
        if self.name in RESERVED_NAMES:
            raise MonitorSpecError(f"name: {self.name!r} is reserved; choose another")
        try:
            self.parsed()
        except MonitorRuleError as exc:
            raise MonitorSpecError(f"rule: {exc}", exc.column) from None
        try:
            if self.every is not None and self.every_s(60.0) <= 0:
                raise MonitorRuleError("every must be longer than 0")
        except MonitorRuleError as exc:
            raise MonitorSpecError(f"every: {exc.message}") from None
        if self.webhook is not None and not self.webhook.startswith(("http://", "https://")):
            raise MonitorSpecError(f"webhook: expected an http(s) URL, got {self.webhook!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)


def spec_from_dict(data: dict[str, Any], *, project: str | None = None) -> MonitorSpec:
    """A validated spec from plain data (the API body, a file entry); ``project`` overrides the data's."""
    if project is not None:
        data = {**data, "project": project}
    try:
        spec = msgspec.convert(data, MonitorSpec)
    except msgspec.ValidationError as exc:
        raise MonitorSpecError(str(exc)) from None
    return spec.validate()


def _read(path: Path) -> Any:
    text = path.read_text()
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise MonitorSpecError(f"{path.name}: invalid TOML: {exc}") from None
    if suffix in (".yaml", ".yml", ".json"):
        try:
            import yaml  # PyYAML; JSON is YAML too
        except ImportError:  # pragma: no cover - a dependency, but keep the message useful
            raise MonitorSpecError(f"{path.name}: reading YAML needs PyYAML (pip install pyyaml)") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise MonitorSpecError(f"{path.name}: invalid YAML: {exc}") from None
    raise MonitorSpecError(f"{path.name}: monitors files are .yaml, .yml, .toml or .json")


def load_file(path: str | Path) -> list[MonitorSpec]:
    """Every monitor of a file, validated; raises :class:`MonitorSpecError` on the first bad entry."""
    p = Path(path)
    if not p.is_file():
        raise MonitorSpecError(f"monitors file {str(p)!r} not found")
    data = _read(p)
    if data is None:
        return []
    if isinstance(data, list):
        data = {"monitors": data}
    if not isinstance(data, dict) or not isinstance(data.get("monitors", []), list):
        raise MonitorSpecError(f"{p.name}: expected a 'monitors' list (and optional 'defaults')")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise MonitorSpecError(f"{p.name}: 'defaults' must be a mapping")
    specs: list[MonitorSpec] = []
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(data.get("monitors") or []):
        label = f"{p.name}: monitors[{i}]"
        if not isinstance(entry, dict):
            raise MonitorSpecError(f"{label}: expected a mapping with at least 'name' and 'rule'")
        if entry.get("name"):
            label += f" ({entry['name']})"
        try:
            spec = spec_from_dict({**defaults, **entry})
        except MonitorSpecError as exc:
            raise MonitorSpecError(f"{label}: {exc}", exc.column) from None
        key = (spec.project, spec.name)
        if key in seen:
            raise MonitorSpecError(f"{label}: a monitor named {spec.name!r} is declared twice in {spec.project!r}")
        seen.add(key)
        specs.append(spec)
    return specs
