"""The package layout is the architecture: imports point down the layers, never up or sideways.

Parses every module of gallery/ with `ast` (nothing is imported, no Orthanc), so it runs in a second.
Layers, lowest first: dicom and orthanc (pure: no Flask), the shared extensions, store, archive,
imaging, access, web, blueprints, and the app factory (gallery/__init__.py, cli.py) on top.
Imports under `if TYPE_CHECKING:` are type hints only and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "gallery"

#: Rank of each top-level part of gallery/; a module may import its own rank or lower.
RANKS = {
    "dicom": 0,
    "orthanc": 0,
    "extensions": 1,
    "store": 2,
    "archive": 3,
    "imaging": 4,
    "access": 5,
    "web": 6,
    "blueprints": 7,
    "cli": 8,
    "": 8,  # gallery/__init__.py: create_app wires everything
}
PURE = {"dicom", "orthanc"}
WEB_FRAMEWORKS = ("flask", "werkzeug", "jinja2")


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def submodule(target: str, name: str, root: Path) -> str:
    """`from gallery.imaging import stack` imports the module gallery.imaging.stack; else `target` itself."""
    path = root.parent / f"{target}.{name}".replace(".", "/")
    return f"{target}.{name}" if path.with_suffix(".py").exists() or path.is_dir() else target


def imports_of(path: Path, root: Path) -> list[str]:
    """Absolute names of the modules `path` imports at run time (in functions too)."""
    tree = ast.parse(path.read_text(), str(path))
    type_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for stmt in node.body
        for child in ast.walk(stmt)
    }
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            names += [submodule(target, alias.name, root) for alias in node.names]
    return names


def part_of(module: str, depth: int = 1) -> str:
    """`gallery.archive.loaders` → `archive` (depth 2: `archive.loaders`); `gallery` → ``."""
    return ".".join(module.split(".")[1 : 1 + depth])


def violations(root: Path = PACKAGE) -> list[str]:
    """Every import in the package under `root` that breaks a layering rule, as readable lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        own = part_of(module)
        for name in imports_of(path, root):
            top = name.split(".")[0]
            if own in PURE and (top in WEB_FRAMEWORKS or top.startswith("flask")):
                found.append(f"{module} imports {name}: {own}/ must not depend on Flask")
            if top == "scripts":
                found.append(f"{module} imports {name}: the app must not import the development tools")
            if top != root.name:
                continue
            other = part_of(name)
            if other not in RANKS:
                found.append(f"{module} imports {name}: unknown part of {root.name}/ (add it to RANKS)")
            elif RANKS[other] > RANKS.get(own, 8):
                found.append(f"{module} imports {name}: {other} is a higher layer than {own}")
            feature, other_feature = part_of(module, 2), part_of(name, 2)
            if own == other == "blueprints" and "." in other_feature and feature != other_feature:
                found.append(f"{module} imports {name}: one blueprint must not import another")
    return found


def test_imports_point_down_the_layers() -> None:
    assert violations() == []


def test_every_part_of_the_package_has_a_rank() -> None:
    parts = {part_of(module_name(p, PACKAGE)) for p in PACKAGE.rglob("*.py")}
    assert parts <= set(RANKS), parts - set(RANKS)


def test_each_rule_catches_its_violation(tmp_path: Path) -> None:
    """The rules can fail: a small package breaking each of them once is reported line by line."""
    root = tmp_path / "gallery"
    files = {
        "__init__.py": "",
        "dicom/__init__.py": "",
        "dicom/values.py": "from flask import request\n",
        "orthanc/__init__.py": "",
        "orthanc/client.py": "def f():\n    import werkzeug\n",
        "archive/__init__.py": "",
        "archive/loaders.py": "from ..web import params\n",
        "web/__init__.py": "",
        "web/params.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..blueprints import browse\n",
        "blueprints/__init__.py": "",
        "blueprints/browse/__init__.py": "",
        "blueprints/browse/views.py": "from ..viewer.views import x\nfrom . import bp\nfrom ...web.params import y\n",
        "blueprints/viewer/__init__.py": "",
        "blueprints/viewer/views.py": "x = 1\n",
        "cli.py": "from scripts.demo import load_demo_data\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert violations(root) == [
        "gallery.archive.loaders imports gallery.web.params: web is a higher layer than archive",
        "gallery.blueprints.browse.views imports gallery.blueprints.viewer.views: "
        "one blueprint must not import another",
        "gallery.cli imports scripts.demo: the app must not import the development tools",
        "gallery.dicom.values imports flask: dicom/ must not depend on Flask",
        "gallery.orthanc.client imports werkzeug: orthanc/ must not depend on Flask",
    ]
