"""Package faces that name their public API without importing it: each name is imported from its
module the first time someone asks for it (PEP 562), so `import maskloc.training` loads no torch
until a training name is used, and the command line starts quickly."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, modules: Mapping[str, Sequence[str]]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """`__all__`, `__getattr__` and `__dir__` for `package`, whose module `m` (a name relative to
    the package) exports `modules[m]`: `__all__, __getattr__, __dir__ = lazy_exports(...)`."""
    home = {name: module for module, names in modules.items() for name in names}
    public = sorted(home)

    def __getattr__(name: str) -> Any:
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{home[name]}"), name)

    def __dir__() -> list[str]:
        return public

    return public, __getattr__, __dir__
