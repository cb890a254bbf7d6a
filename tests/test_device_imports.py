"""The device package runs with TensorFlow unavailable, and the core imports only stdlib and numpy."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edge_lstm.cli import EXIT_UNAVAILABLE

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
    from edge_lstm import synthetic

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
    assert result.returncode == EXIT_UNAVAILABLE
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
