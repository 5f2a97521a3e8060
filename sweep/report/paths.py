"""Machine paths out of shared text: a report names paths relative to the project, or by their last part."""

from __future__ import annotations

import os
import re
from pathlib import PurePosixPath

# An absolute path: after "sqlite:///", or at the start of a token (also after "=" or a "layout:" prefix);
# "//" right after the start is a URL's authority (postgresql://host/db), not a path.
_ABS_PATH = re.compile(r"(sqlite:///|(?<![^\s=:'\"`]))(/(?!/)[^\s'\"`]*)")


def portable_paths(text: str, cwd: str | os.PathLike) -> str:
    """`text` with every absolute path relative to `cwd` when under it, else reduced to its last component.

    "folders:/abs/x" -> "folders:x"; "sqlite:////cwd/studies/x.db" -> "sqlite:///studies/x.db";
    "--data-dir=/abs/x" -> "--data-dir=x". Pure: it never looks at the file system.
    """
    base = PurePosixPath(os.path.normpath(cwd))

    def shorten(match: re.Match) -> str:
        path = PurePosixPath(os.path.normpath(match.group(2)))
        if path == base:
            return match.group(1) + "."
        return match.group(1) + (str(path.relative_to(base)) if path.is_relative_to(base) else path.name or "/")

    return _ABS_PATH.sub(shorten, text)
