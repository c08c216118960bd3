"""The SDK stays light: only the standard library, spanscope.model/settings/sdk and msgspec at module level;
OpenTelemetry only inside functions (imported when the application already uses it)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import spanscope.sdk
import spanscope.testing

ALLOWED_PREFIXES = ("spanscope.model", "spanscope.settings", "spanscope.sdk", "msgspec")
LAZY_ONLY = ("opentelemetry",)


def _names(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        if node.module == "spanscope":
            return {f"spanscope.{alias.name}" for alias in node.names}
        return {node.module}
    return set()


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """(module-level imports, imports inside functions)."""
    tree = ast.parse(path.read_text())
    lazy: set[str] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                lazy |= _names(node)
    everything: set[str] = set()
    for node in ast.walk(tree):
        everything |= _names(node)
    return everything - lazy, lazy


def test_sdk_imports_only_what_it_may() -> None:
    files = [*Path(spanscope.sdk.__file__).parent.glob("*.py"), Path(spanscope.testing.__file__)]
    assert len(files) > 5
    for path in files:
        eager, lazy = _imports(path)
        for name in eager:
            allowed = name.split(".")[0] in sys.stdlib_module_names or name.startswith(ALLOWED_PREFIXES)
            assert allowed, f"{path.name} imports {name} at module level"
        for name in lazy:
            allowed = (
                name.split(".")[0] in sys.stdlib_module_names
                or name.startswith(ALLOWED_PREFIXES)
                or name.startswith(LAZY_ONLY)
            )
            assert allowed, f"{path.name} imports {name}"


def test_spans_do_not_import_opentelemetry() -> None:
    code = (
        "import sys, spanscope\n"
        "from spanscope.testing import capture\n"
        "with capture():\n"
        "    with spanscope.trace('t'), spanscope.span('s'):\n"
        "        pass\n"
        "print(any(m.startswith('opentelemetry') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
