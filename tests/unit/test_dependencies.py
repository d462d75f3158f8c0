"""pyproject.toml and environment.yml name the same packages with the same version ranges."""

import tomllib

import yaml
from packaging.requirements import Requirement

from grader.course import DEFAULT_ROOT

# conda-forge spells some PyPI names differently
CONDA_NAMES = {}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((DEFAULT_ROOT / "pyproject.toml").read_text())["project"]
    pip_side = {}
    for spec in project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]:
        requirement = Requirement(spec)
        pip_side[CONDA_NAMES.get(requirement.name.lower(), requirement.name.lower())] = requirement.specifier

    environment = yaml.safe_load((DEFAULT_ROOT / "environment.yml").read_text())
    conda_side = {}
    for entry in environment["dependencies"]:
        if not isinstance(entry, str) or entry.split("=")[0] in ("python", "pip"):
            continue
        requirement = Requirement(entry)
        conda_side[requirement.name.lower()] = requirement.specifier

    assert conda_side == pip_side
