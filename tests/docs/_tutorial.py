"""Follow docs/tutorial/index.rst literally, as a reader would.

``django-admin startproject`` and ``manage.py startapp`` make the project;
then each file the page shows is made what the page shows, and startproject's
settings are edited as step 1 says. Files come from what the page includes,
so a page that stops showing a file, or shows the wrong one, breaks the
project built here.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.docs._examples import DOCS, EXAMPLES
from tests.docs._server import run_in

TUTORIAL = DOCS / "tutorial" / "index.rst"
# A literalinclude of an example file and its indented options.
_INCLUDE = re.compile(
    r"^\.\. literalinclude:: \.\./examples/(?P<source>\S+)\n(?P<options>(?:   :.*\n)+)",
    re.MULTILINE,
)
_OPTION = re.compile(r"^   :(?P<name>[\w-]+):(?: (?P<value>.*))?$", re.MULTILINE)


def files_the_page_shows() -> dict[str, tuple[Path, dict[str, str]]]:
    """Map each file name the tutorial shows (its caption) to what it shows last.

    A later step's version of a file (``chat/consumers.py``) replaces the
    earlier ones, as it does in the reader's project.
    """
    shown: dict[str, tuple[Path, dict[str, str]]] = {}
    for include in _INCLUDE.finditer(TUTORIAL.read_text()):
        options = {
            o["name"]: o["value"] or "" for o in _OPTION.finditer(include["options"])
        }
        shown[options["caption"]] = (EXAMPLES / include["source"], options)
    return shown


def follow_settings_step(
    settings_file: Path, source: Path, options: dict[str, str]
) -> None:
    """Edit startproject's settings the way step 1 says."""
    text = settings_file.read_text()
    # "add "channels_lite" above staticfiles, and "chat" anywhere"
    staticfiles = "    'django.contrib.staticfiles',\n"
    assert staticfiles in text
    text = text.replace(
        staticfiles, "    'channels_lite',\n" + staticfiles + "    'chat',\n"
    )
    # "replace startproject's empty ALLOWED_HOSTS"
    assert "ALLOWED_HOSTS = []\n" in text
    text = text.replace("ALLOWED_HOSTS = []\n", "")
    # "name the ASGI application and configure a channel layer"
    block = source.read_text().split(options["start-after"] + "\n", 1)[1]
    text += "\n" + block.split(options["end-before"], 1)[0]
    settings_file.write_text(text)


def follow_the_tutorial(directory: Path, python: str | Path) -> Path:
    """Build the tutorial's project in ``directory``; return the project's path.

    ``python`` is the interpreter of the environment the reader installed
    channels_lite in (the built wheel's, in the tests).
    """
    started = run_in(directory, "-m", "django", "startproject", "mysite", python=python)
    assert started.returncode == 0, started.stderr
    project = directory / "mysite"
    app = run_in(project, "manage.py", "startapp", "chat", python=python)
    assert app.returncode == 0, app.stderr
    for caption, (source, options) in files_the_page_shows().items():
        target = project / caption
        if "start-after" in options:
            follow_settings_step(target, source, options)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return project


def tools_the_page_installs() -> list[str]:
    """Return what the page's ``python -m pip install`` lines install, in order."""
    lines = re.findall(
        r"^   \$ python -m pip install (.+)$", TUTORIAL.read_text(), re.M
    )
    return [name for line in lines for name in line.split()]
