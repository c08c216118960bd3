"""Load ``module:attribute`` or ``path/to/file.py:attribute`` (the CLI's ``--app`` and ``--scorer``)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any


def load_object(ref: str) -> Any:
    """The object ``ref`` names: ``package.module:function`` (imported from ``sys.path``, the current
    directory first) or ``some/file.py:function`` (loaded from that file). Dotted attributes work too."""
    target, sep, attr = ref.strip().rpartition(":")
    if not sep or not target or not attr:
        raise ValueError(f"expected module:attribute or file.py:attribute, got {ref!r}")
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target).resolve()
        if not path.is_file():
            raise ValueError(f"no such file: {target}")
        name = f"spanscope_loaded_{abs(hash(str(path)))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ValueError(f"cannot load {target}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
        module = importlib.import_module(target)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{target} has no attribute {attr!r}") from None
    return obj
