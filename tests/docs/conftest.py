"""Fixtures for the documentation tests: one Sphinx build shared by all of them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sphinx.application import Sphinx

from tests.docs._examples import DOCS


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
