"""Reading tracked theme definitions from themes.toml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from newsintel.errors import ThemeError
from newsintel.models import ThemeDefinition
from newsintel.tomlfile import read_toml

_THEME_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def _strings(value: Any, field: str, theme: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ThemeError(f"theme '{theme}': '{field}' must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def parse_theme(table: dict[str, Any], default_threshold: float) -> ThemeDefinition:
    """One [[themes]] table to a ThemeDefinition, with specific errors."""
    name = table.get("name")
    if not isinstance(name, str) or not _THEME_ID.match(name):
        raise ThemeError(
            f"theme name {name!r} is invalid: use lower-case letters, digits and '_' "
            "(e.g. world_models)"
        )
    description = table.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ThemeError(f"theme '{name}' needs a non-empty 'description'")
    threshold = table.get("threshold", default_threshold)
    if not isinstance(threshold, int | float) or not 0.0 < float(threshold) < 1.0:
        raise ThemeError(f"theme '{name}': 'threshold' must be a number between 0 and 1")
    label = table.get("label", name.replace("_", " ").capitalize())
    if not isinstance(label, str):
        raise ThemeError(f"theme '{name}': 'label' must be a string")
    gdelt_query = table.get("gdelt_query")
    if gdelt_query is not None and (not isinstance(gdelt_query, str) or not gdelt_query.strip()):
        raise ThemeError(f"theme '{name}': 'gdelt_query' must be a non-empty string")
    return ThemeDefinition(
        theme_id=name,
        label=label,
        description=description.strip(),
        examples=_strings(table.get("examples"), "examples", name),
        keywords=_strings(table.get("keywords"), "keywords", name),
        exclusions=_strings(table.get("exclusions"), "exclusions", name),
        threshold=float(threshold),
        gdelt_query=gdelt_query.strip() if gdelt_query is not None else None,
        gkg_themes=_strings(table.get("gkg_themes"), "gkg_themes", name),
    )


def load_themes(path: Path) -> list[ThemeDefinition]:
    """Every [[themes]] table of a themes.toml file."""
    data = read_toml(path, "themes file", ThemeError)
    tables = data.get("themes")
    if not isinstance(tables, list) or not tables:
        raise ThemeError(f"themes file {path} has no [[themes]] tables")
    default_threshold = float(data.get("default_threshold", 0.35))
    themes = [parse_theme(t, default_threshold) for t in tables]
    seen: set[str] = set()
    for theme in themes:
        if theme.theme_id in seen:
            raise ThemeError(f"themes file {path}: theme '{theme.theme_id}' is defined twice")
        seen.add(theme.theme_id)
    return themes
