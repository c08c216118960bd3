"""The SDK stays light: only the standard library, spanscope.model/settings/sdk and msgspec."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import spanscope.sdk
import spanscope.testing

ALLOWED_PREFIXES = ("spanscope.model", "spanscope.settings", "spanscope.sdk", "msgspec")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "spanscope":
                names.update(f"spanscope.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
    return names


def test_sdk_imports_only_what_it_may() -> None:
    files = [*Path(spanscope.sdk.__file__).parent.glob("*.py"), Path(spanscope.testing.__file__)]
    assert len(files) > 5
    for path in files:
        for name in _imports(path):
            allowed = name.split(".")[0] in sys.stdlib_module_names or name.startswith(ALLOWED_PREFIXES)
            assert allowed, f"{path.name} imports {name}"
