"""The package's shape, checked: each layer imports only from the layers below it, no module
imports itself back through a circle, the library never imports the app side, and the top
folder stays a door (docs/architecture.md explains the layers)."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "maskloc"
# Lowest first: a layer may import its own modules and those of the layers before it.
LAYERS = (
    "utils", "config", "data", "formats", "viz", "models", "training", "inference", "classroom",
    "cli",
)  # fmt: skip
APP_SIDE = ("streamlit", "app_pages", "app_parts", "bench")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: frozenset[str] = frozenset()) -> set[str]:
    """Every module `path` imports, anywhere in it (functions and TYPE_CHECKING blocks too);
    `from package import module` counts as the module when `modules` knows it."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            named = {f"{base}.{alias.name}" for alias in node.names}
            found |= (named & modules) or {base}
    return found


def library_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = frozenset(paths)
    return {
        name: {m for m in imports(path, modules) if m in modules and m != name}
        for name, path in paths.items()
    }


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def upward(graph: dict[str, set[str]]) -> list[str]:
    """The imports that climb: a module importing one of a higher layer."""
    found = []
    for module, targets in graph.items():
        mine = layer(module)
        if mine is None:  # maskloc/__init__.py and __main__.py stand above every layer
            continue
        for target in targets:
            theirs = layer(target)
            if theirs is not None and LAYERS.index(theirs) > LAYERS.index(mine):
                found.append(f"{module} -> {target}")
    return sorted(found)


def test_each_layer_imports_only_from_the_layers_below_it():
    assert not upward(library_graph())


def test_the_layer_check_sees_an_upward_import():
    assert "maskloc.utils.messages" in imports(PACKAGE / "config" / "settings.py")  # relative
    graph = {"maskloc.config.sections": {"maskloc.models.backbones", "maskloc.utils.messages"}}
    assert upward(graph) == ["maskloc.config.sections -> maskloc.models.backbones"]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_back_through_a_circle():
    assert not cycles(library_graph())


def test_the_cycle_check_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_library_never_imports_the_app_side():
    offending = {
        module_name(path): sorted(m for m in imports(path) if m.split(".")[0] in APP_SIDE)
        for path in PACKAGE.rglob("*.py")
    }
    assert not {k: v for k, v in offending.items() if v}


def test_the_top_folder_holds_at_most_eight_modules_and_the_layers():
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 8, modules
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert set(LAYERS) <= folders, set(LAYERS) - folders
