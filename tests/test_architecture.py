"""The import contract of docs/architecture.md, checked over the import graph of every source file (imports inside
functions included), so a wrong import fails the build instead of waiting for a review."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import REPO

# Each package's layer; the longest matching prefix wins ("genlab" itself only exposes genlab.load lazily).
LAYER_OF = {
    "genlab.core": "floor",
    "genlab.metrics": "metrics",
    "lightning_modules": "models",
    "datamodules": "data",
    "genlab.callbacks": "callbacks",
    "genlab.runner": "runner",
    "genlab": "runner",
    "scripts": "scripts",
    "benchmarks": "benchmarks",
    "tests": "tests",
}
BELOW_RUNNER = {"models", "data", "callbacks", "metrics", "floor"}
# What each layer may import: only downwards, never a sibling on its own layer, never scripts/.
MAY_IMPORT = {
    "floor": {"floor"},
    "metrics": {"metrics", "floor"},
    "models": {"models", "metrics", "floor"},
    "data": {"data", "floor"},
    "callbacks": {"callbacks", "metrics", "floor"},
    "runner": {"runner", *BELOW_RUNNER},
    "scripts": {"runner", *BELOW_RUNNER},
    "benchmarks": {"runner", *BELOW_RUNNER},
}
# The roof's wings, in order: each imports only itself and the wings before it; cli (the scripts' shell) no wing.
WINGS = ("genlab.runner.cli", "genlab.runner.config", "genlab.runner.run", "genlab.runner.tools",
         "genlab.runner.sweep")
CHECKED = ("genlab", "lightning_modules", "datamodules", "scripts", "benchmarks")
NETS = "lightning_modules.nets"  # plain torch networks: no Lightning
LIGHTNING = ("pytorch_lightning", "lightning", "lightning_fabric")


def layer_of(module: str) -> str | None:
    matches = [prefix for prefix in LAYER_OF if module == prefix or module.startswith(prefix + ".")]
    return LAYER_OF[max(matches, key=len)] if matches else None


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``source``, at any depth; relative imports resolved, and
    ``from package import name`` counted as ``package.name`` (a submodule or a name of the package)."""
    found = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def wing_of(module: str) -> int | None:
    return next((i for i, wing in enumerate(WINGS) if module == wing or module.startswith(wing + ".")), None)


def violations(files: dict[str, str]) -> list[str]:
    """One line per forbidden import in ``files`` (repository-relative path -> source)."""
    out = []
    for rel, source in sorted(files.items()):
        path = Path(rel)
        module = module_name(REPO / path, REPO)
        layer = layer_of(module)
        for line, target in imported_modules(source, module, path.name == "__init__.py"):
            where = f"{rel}:{line} imports {target}"
            if module.startswith(NETS) and target.split(".")[0] in LIGHTNING:
                out.append(f"{where}: networks under lightning_modules/nets import no Lightning")
            wing, target_wing = wing_of(module), wing_of(target)
            if wing is not None and target_wing is not None and target_wing > wing:
                out.append(f"{where}: the runner's wing {WINGS[wing]} may import only the wings before it "
                           f"({', '.join(WINGS[:wing]) or 'none'})")
            target_layer = layer_of(target)
            if target_layer is not None and target_layer not in MAY_IMPORT[layer]:
                out.append(f"{where}: the {layer} layer may import only {', '.join(sorted(MAY_IMPORT[layer]))}, "
                           f"not {target_layer}")
    return out


def project_sources() -> dict[str, str]:
    return {str(p.relative_to(REPO)): p.read_text() for top in CHECKED for p in sorted((REPO / top).rglob("*.py"))}


def test_every_import_follows_the_layers():
    sources = project_sources()
    assert len(sources) > 50 and "genlab/core/errors.py" in sources
    assert violations(sources) == []


def test_every_package_has_a_layer():
    assert all(layer_of(module_name(REPO / rel, REPO)) for rel in project_sources())


def test_the_check_catches_upward_sibling_and_lightning_imports_also_inside_functions():
    files = {
        "genlab/core/x.py": "def f():\n    from genlab.runner import registry\n",
        "genlab/metrics/y.py": "import lightning_modules.gan\n",
        "datamodules/z.py": "from lightning_modules import base\n",
        "lightning_modules/w.py": "from . import base\nfrom genlab.callbacks import images\n",
        "lightning_modules/nets/v.py": "import pytorch_lightning as pl\n",
        "genlab/runner/u.py": "import scripts.train\nfrom ..core import errors\n",
        "genlab/runner/run/t.py": "from genlab.runner.tools import compare\nfrom genlab.runner.config import load\n",
    }
    found = violations(files)
    assert [line.split(": ")[0] for line in found] == [
        "datamodules/z.py:1 imports lightning_modules.base",
        "genlab/core/x.py:2 imports genlab.runner.registry",
        "genlab/metrics/y.py:1 imports lightning_modules.gan",
        "genlab/runner/run/t.py:1 imports genlab.runner.tools.compare",
        "genlab/runner/u.py:1 imports scripts.train",
        "lightning_modules/nets/v.py:1 imports pytorch_lightning",
        "lightning_modules/w.py:2 imports genlab.callbacks.images",
    ]
    assert "not runner" in found[1] and "wings before it" in found[3] and "import no Lightning" in found[5]
