"""The package declares exactly what the device code imports, and its version in one place."""

from __future__ import annotations

import ast
import sys
import tomllib

from support import REPO

from edge_lstm import __version__

# Import names of the declared distributions.
IMPORT_NAMES = {
    "ai-edge-litert": "ai_edge_litert",
    "numpy": "numpy",
    "paho-mqtt": "paho",
    "click": "click",
    "pyserial": "serial",
    "msgspec": "msgspec",
}


def test_runtime_dependencies_are_exactly_what_the_device_package_imports() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {req.split("=")[0].split(">")[0].split("<")[0].strip() for req in project["dependencies"]}
    assert set(IMPORT_NAMES) == declared
    imported: set[str] = set()
    for path in (REPO / "edge_lstm").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"edge_lstm", "edge_lstm_train"}
    # Optional imports behind a clear message: matplotlib (plots), river and TensorFlow (benchmark, training);
    # orjson is only measured by `edge-lstm bench` when installed.
    assert third_party - {"matplotlib", "orjson"} == set(IMPORT_NAMES.values())


def test_the_version_lives_in_one_place() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert __version__.count(".") == 2
