"""The reference documents every name every public module exports."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from sphinx.application import Sphinx
from sphinx.domains.python import PythonDomain

import channels_lite


def public_modules() -> list[str]:
    """Return the modules of channels_lite with no ``_``-prefixed part."""
    names = ["channels_lite"]
    for info in pkgutil.walk_packages(channels_lite.__path__, "channels_lite."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def exported_names() -> dict[str, set[str]]:
    """Map ``module.name`` of every exported name to the full names it may have.

    A re-exported name counts as documented under the module that defines it
    (``channels_lite.layers.channel_layers`` is documented in
    ``channels_lite.layers.manager``).
    """
    names: dict[str, set[str]] = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            # Dunders such as __version__ are metadata, not API to document.
            if name.startswith("__"):
                continue
            home = getattr(getattr(module, name), "__module__", module_name)
            names[f"{module_name}.{name}"] = {
                f"{module_name}.{name}",
                f"{home}.{name}",
            }
    return names


def test_public_modules_declare_all() -> None:
    missing = [
        name
        for name in public_modules()
        if not hasattr(importlib.import_module(name), "__all__")
    ]
    assert missing == []


@pytest.fixture(scope="module")
def documented(sphinx_app: Sphinx) -> set[str]:
    """Return the full names of every Python object the docs describe."""
    domain = sphinx_app.env.get_domain("py")
    assert isinstance(domain, PythonDomain)
    return set(domain.objects)


def test_reference_documents_every_exported_name(documented: set[str]) -> None:
    missing = sorted(
        name
        for name, candidates in exported_names().items()
        if not candidates & documented
    )
    assert missing == [], (
        "exported but not in the reference: give each a docstring "
        f"(or a '#:' comment for module data) so autodoc documents it: {missing}"
    )


@pytest.mark.parametrize(
    "name",
    [pytest.param("channels_lite.exceptions.ChannelFull", id="exception")],
)
def test_reference_documents_known_name(documented: set[str], name: str) -> None:
    assert name in documented
