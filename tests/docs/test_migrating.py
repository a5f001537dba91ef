"""The migration guide: its rename script and the module paths it promises."""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils.module_loading import import_string

from tests.docs._examples import DOCS, example

PAGE = DOCS / "migrating-from-channels.rst"
LEFTOVER = re.compile(r"(^|[^.\w])channels\b(?!_)|[\"']channels[\"']", re.MULTILINE)


@pytest.fixture
def renamed(tmp_path: Path) -> Path:
    """Return a copy of the 'before' project after the rename script ran on it."""
    project = tmp_path / "project"
    shutil.copytree(example("migrating/before/"), project)
    subprocess.run(
        ["bash", str(example("migrating/rename.sh"))],
        cwd=project,
        check=True,
        timeout=60,
    )
    return project


def test_rename_leaves_no_channels_reference(renamed: Path) -> None:
    leftovers = [
        f"{path.name}: {match.group(0)!r}"
        for path in renamed.glob("*.py")
        for match in LEFTOVER.finditer(path.read_text())
    ]
    assert leftovers == []


def test_renamed_settings_name_channels_lite(renamed: Path) -> None:
    namespace: dict[str, object] = {}
    exec((renamed / "settings.py").read_text(), namespace)
    assert "channels_lite" in namespace["INSTALLED_APPS"]  # type: ignore[operator]
    layers = namespace["CHANNEL_LAYERS"]
    assert isinstance(layers, dict)
    assert import_string(layers["default"]["BACKEND"])


def test_renamed_imports_resolve(renamed: Path) -> None:
    tree = ast.parse((renamed / "routing.py").read_text())
    imported = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("channels_lite"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), (node.module, alias.name)
                    imported += 1
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("channels_lite"):
                    importlib.import_module(alias.name)
                    imported += 1
    assert imported >= 3


def test_rename_keeps_other_packages_and_attributes(tmp_path: Path) -> None:
    source = "import channels_redis.core\nx = self.channels.pop()\n"
    (tmp_path / "other.py").write_text(source + "import channels\n")
    subprocess.run(
        ["bash", str(example("migrating/rename.sh"))],
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    assert (tmp_path / "other.py").read_text() == source + "import channels_lite\n"


def test_module_table_paths_import() -> None:
    paths = re.findall(r"``(channels_lite(?:\.\w+)*)``", PAGE.read_text())
    assert paths
    for dotted in paths:
        try:
            importlib.import_module(dotted)
        except ImportError:
            import_string(dotted)


def test_module_table_maps_channels_paths_to_the_same_names() -> None:
    rows = re.findall(
        r"\* - ``channels\.([\w.]+)``.*\n\s+- ``channels_lite\.([\w.]+)``",
        PAGE.read_text(),
    )
    assert rows
    assert all(before == after for before, after in rows)
