"""Monitors: rules over the filter language evaluated on a schedule, with state, history and notifications.

- :mod:`~spanscope.monitors.rules`: ``p95(span.duration_ms) where span.name = 'llm.generate' > 2000 over 1h``
  and friends, parsed into a :class:`Rule`;
- :mod:`~spanscope.monitors.evaluate`: the SQL behind a rule, :func:`evaluate` at an instant;
- :mod:`~spanscope.monitors.spec`: :class:`MonitorSpec` and ``monitors.yaml`` / ``.toml`` files;
- :mod:`~spanscope.monitors.state`: definitions, state and history in ``<data-dir>/monitors.sqlite``;
- :mod:`~spanscope.monitors.notify`: the log and webhook notifiers;
- :mod:`~spanscope.monitors.service`: :class:`MonitorService`, the scheduler and state machine;
- :mod:`~spanscope.monitors.regressions`: two-window / per-version regression tests with effect sizes.

See docs/monitors.md.
"""

from spanscope.monitors.evaluate import Evaluation, evaluate
from spanscope.monitors.rules import MonitorRuleError, Rule, parse_rule
from spanscope.monitors.service import MonitorConflict, MonitorsConfig, MonitorService
from spanscope.monitors.spec import MonitorSpec, MonitorSpecError, load_file, spec_from_dict

__all__ = [
    "Evaluation",
    "MonitorConflict",
    "MonitorRuleError",
    "MonitorService",
    "MonitorSpec",
    "MonitorSpecError",
    "MonitorsConfig",
    "Rule",
    "evaluate",
    "load_file",
    "parse_rule",
    "spec_from_dict",
]
