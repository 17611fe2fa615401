"""The schemas ship inside the wheel, and the installed package finds them there."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from built_wheel import REPO, built_wheel
from licsync.schemas import LICENSES_SCHEMA, load_schema, schema_dir


def test_schema_found_in_this_installation() -> None:
    """The running installation (editable or not) finds the one copy of the schema."""
    schema = load_schema(LICENSES_SCHEMA)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert (schema_dir() / LICENSES_SCHEMA).is_file()


def test_wheel_carries_schema_and_finds_it(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A built wheel holds licsync/schema/*.json and, unpacked alone, loads them from there."""
    if shutil.which("git") is None:  # pragma: no cover - CI machines have git
        pytest.skip("git is needed to build from a clean copy")
    wheel = built_wheel(tmp_path_factory)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert "licsync/schema/licenses.schema.json" in names
        packaged = json.loads(archive.read("licsync/schema/licenses.schema.json"))
        archive.extractall(tmp_path / "site")
    assert packaged == load_schema(LICENSES_SCHEMA)
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import licsync.schemas as s; print(s.schema_dir()); "
            "print(s.load_schema(s.LICENSES_SCHEMA)['title'])",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": ""},
    )
    assert probe.returncode == 0, probe.stderr
    folder, title = probe.stdout.splitlines()
    assert folder == str(tmp_path / "site" / "licsync" / "schema")
    assert title == "licsync desired state"


def _fenced_commands(text: str) -> list[str]:
    blocks = text.split("```sh\n")[1:]
    return [block.split("```", 1)[0].strip() for block in blocks]


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs exactly the README's second set-up command (the tests)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = _fenced_commands(readme)
    assert len(commands) >= 2
    test_command = commands[1]
    assert "pytest" in test_command
    ci_lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def _pip(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=900,
    )


@pytest.mark.slow
def test_offline_install_from_a_wheelhouse(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """docs/ci.md's Windows runner install: ``pip download`` the built wheel's dependencies into
    a wheelhouse where the index is reachable, then ``pip install --no-index --find-links`` it
    with no index at all, and the installed licsync validates the example."""
    house = tmp_path / "wheelhouse"
    house.mkdir()
    wheel = Path(shutil.copy(built_wheel(tmp_path_factory), house))
    fetched = _pip(
        "download", "-q", "--only-binary=:all:", "-d", str(house), str(wheel), cwd=tmp_path
    )
    if fetched.returncode != 0:
        pytest.skip(f"the package index is not reachable from here: {fetched.stderr[-300:]}")
    example_copy = shutil.copytree(REPO / "licenses", tmp_path / "licenses")
    target = tmp_path / "installed"
    # --no-compile: what is proven is that the wheelhouse alone installs a licsync that runs;
    # compiling its 31 packages' bytecode was 2 s of the suite's CPU and proves nothing more.
    offline = _pip(
        "install",
        "-q",
        "--no-compile",
        "--no-index",
        "--find-links",
        str(house),
        "--target",
        str(target),
        "licsync",
        cwd=tmp_path,
    )
    assert offline.returncode == 0, offline.stderr
    probe = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import licsync, licsync.cli; "
            "print(licsync.__file__, flush=True); "
            "sys.exit(licsync.cli.main(['validate', sys.argv[2]]))",
            str(target),
            str(example_copy),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith(str(target)), probe.stdout
