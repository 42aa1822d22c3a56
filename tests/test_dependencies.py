"""One dependency list: pyproject.toml. The requirements files only point to it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
# What each requirements file installs: the package itself, with these extras.
POINTERS = {
    "requirements.txt": "-e .",
    "requirements-dev.txt": "-e .[dev]",
    "requirements-eval.txt": "-e .[dev,eval]",
}


def _lines(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text("utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def test_requirements_files_only_point_to_pyproject() -> None:
    # A package named in a requirements file would be a second list that can drift.
    for name, pointer in POINTERS.items():
        assert _lines(ROOT / name) == [pointer], name


def test_every_extra_a_requirements_file_names_exists() -> None:
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    for pointer in POINTERS.values():
        named = re.findall(r"\[([^\]]*)\]", pointer)
        for extra in (e.strip() for group in named for e in group.split(",")):
            assert extra in extras, extra


def test_the_makefile_installs_from_pyproject() -> None:
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert 'pip install -q -e ".[dev,scale]"' in makefile
    assert "--no-deps" not in makefile


def test_torch_stays_pinned_to_the_cpu_wheel_version() -> None:
    assert "torch==2.13.0" in PYPROJECT["project"]["dependencies"]
