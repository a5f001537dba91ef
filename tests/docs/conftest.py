"""Fixtures for the documentation tests: one Sphinx build shared by all of them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sphinx.application import Sphinx

from tests._wheel import WHEEL, fresh_env
from tests.docs._examples import DOCS
from tests.docs._tutorial import tools_the_page_installs


@pytest.fixture(scope="session")
def sphinx_app(tmp_path_factory: pytest.TempPathFactory) -> Sphinx:
    """Read the whole documentation once, with the output thrown away.

    The ``dummy`` builder runs every directive (autodoc, literalinclude) and
    fills the environment the tests inspect, without writing HTML.
    """
    out: Path = tmp_path_factory.mktemp("sphinx")
    app = Sphinx(
        srcdir=DOCS,
        confdir=DOCS,
        outdir=out / "out",
        doctreedir=out / "doctrees",
        buildername="dummy",
        status=io.StringIO(),
        warning=io.StringIO(),
        freshenv=True,
    )
    app.build()
    return app


@pytest.fixture(scope="session")
def reader_python(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the python of a tutorial reader's environment.

    A fresh environment with the built wheel (not the checkout, not the dev
    extra) and what the tutorial's own ``pip install`` lines add.
    """
    tools = tools_the_page_installs()
    assert "pytest-django" in tools
    return fresh_env(tmp_path_factory.mktemp("reader-env"), dist / WHEEL, *tools)
