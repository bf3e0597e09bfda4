"""Where the files that ship beside the code live: templates and migrations.

In a source checkout (and an editable install) they sit at the top of the repository,
where template authors and reviewers expect them; a built wheel carries them inside the
package (``pyproject.toml`` force-includes them as ``bot/templates`` and
``bot/migrations``). One lookup serves both, so no module guesses at ``parents[n]``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The directory ``name`` (``templates`` or ``migrations``) of this installation."""
    packaged = _PACKAGE / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parent / name


TEMPLATES_DIR = resource_dir("templates")
MIGRATIONS_DIR = resource_dir("migrations")
