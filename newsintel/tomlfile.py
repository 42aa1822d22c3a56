"""Reading the TOML files users write (settings, feeds, themes, recipients, series).

One place turns file and syntax problems into one clear line naming the file, raised
as the caller's own error class so each file's errors stay in its part of the tree.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from newsintel.errors import ConfigError, NewsintelError


def read_toml(path: Path, what: str, error: type[NewsintelError] = ConfigError) -> dict[str, Any]:
    """The parsed document; ``what`` names the file in messages (e.g. "feeds file")."""
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path} is not valid TOML: {exc}") from None
