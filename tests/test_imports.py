"""The device package runs with TensorFlow unavailable, and the core imports only stdlib and numpy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import REPO

from edge_lstm.errors import ExitStatus

BLOCK_TENSORFLOW = textwrap.dedent(
    """
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                raise ImportError(f"blocked for this test: {name}")
            return None
    sys.meta_path.insert(0, Block())
    """
)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_TENSORFLOW + textwrap.dedent(code)], capture_output=True, text=True, check=False
    )


def test_every_device_module_imports_without_tensorflow() -> None:
    result = run_python(
        """
        import importlib, pkgutil, edge_lstm
        modules = pkgutil.walk_packages(edge_lstm.__path__, "edge_lstm.")
        names = [m.name for m in modules if m.name != "edge_lstm.__main__"]  # __main__ runs the CLI
        for name in names:
            importlib.import_module(name)
        assert not any(n.split(".")[0] in ("tensorflow", "keras") for n in sys.modules)
        print(len(names))
        """
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 15


@pytest.mark.slow
def test_replay_runs_end_to_end_without_tensorflow(tmp_path: Path, bundle_dir: Path) -> None:
    from edge_lstm.tools import synthetic

    csv_path = tmp_path / "stream.csv"
    synthetic.write_csv(str(csv_path), synthetic.faulty_stream(2000, seed=9, start_index=60_000))
    result = run_python(
        f"""
        from edge_lstm.cli import main
        main(["replay", {str(csv_path)!r}, "--model", {str(bundle_dir)!r}], standalone_mode=True)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "2000 samples" in result.stderr


def test_train_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    result = run_python(
        f"""
        from edge_lstm.cli import main
        main(["train", "data.csv", "--out", {str(tmp_path / "b")!r}])
        """
    )
    assert result.returncode == ExitStatus.UNAVAILABLE
    assert (
        "training needs TensorFlow, which is not installed. Install it with: pip install 'edge-lstm[train]'"
        in result.stderr
    )


def test_core_imports_only_the_standard_library_and_numpy() -> None:
    core = Path(__file__).resolve().parents[1] / "edge_lstm" / "core"
    modules = [f"edge_lstm.core.{p.stem}" for p in core.glob("*.py") if p.stem != "__init__"]
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
            import sys, importlib
            before = set(sys.modules)
            for name in {modules!r}:
                importlib.import_module(name)
            new = {{n.split(".")[0] for n in set(sys.modules) - before}}
            allowed = set(sys.stdlib_module_names) | {{"numpy", "edge_lstm", "_distutils_hack"}}
            print(sorted(n for n in new if n not in allowed and not n.startswith("_")))
            """
            ),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _module_level_imports(package_root: Path) -> dict[str, set[str]]:
    """Module -> the edge_lstm modules it imports at module level (imports inside functions are
    deferred on purpose and cannot form an import-time cycle)."""
    import ast

    graph: dict[str, set[str]] = {}
    for path in package_root.rglob("*.py"):
        parts = path.relative_to(package_root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        is_package = parts[-1] == "__init__"
        edges: set[str] = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                edges |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    module = ".".join([*base, node.module] if node.module else base)
                else:
                    module = node.module or ""
                edges.add(module)
                edges |= {f"{module}.{a.name}" for a in node.names}  # `from pkg import submodule`
        graph[name] = edges
    return {m: {e for e in edges if e in graph and e != m} for m, edges in graph.items()}


def test_no_import_cycle_inside_the_package() -> None:
    graph = _module_level_imports(REPO / "edge_lstm")
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert cycles == [], f"import cycles: {cycles}"


def test_nothing_imports_the_cli_package_back() -> None:
    graph = _module_level_imports(REPO / "edge_lstm")
    offenders = sorted(m for m, edges in graph.items() if "edge_lstm.cli" in edges and m != "edge_lstm.__main__")
    assert offenders == []


def test_the_device_package_is_small_rooms() -> None:
    loose = sorted(p.name for p in (REPO / "edge_lstm").glob("*.py"))
    assert len(loose) <= 6, loose
    too_long = {
        str(p.relative_to(REPO)): n
        for root in ("edge_lstm", "edge_lstm_train")
        for p in (REPO / root).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert too_long == {}
