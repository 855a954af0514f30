"""maskloc as a package: the faces of its subpackages name real things without importing them
early, and an installed copy (a wheel, not this checkout) carries the bundled model and answers
from any folder with its `maskloc` command."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

FACES = (
    "maskloc.utils", "maskloc.config", "maskloc.data", "maskloc.data.build", "maskloc.formats",
    "maskloc.viz", "maskloc.models", "maskloc.training", "maskloc.inference", "maskloc.classroom",
)  # fmt: skip


@pytest.mark.parametrize("name", FACES)
def test_every_name_a_package_face_offers_is_there(name):
    package = importlib.import_module(name)
    assert package.__all__ and package.__doc__
    for exported in package.__all__:
        value = getattr(package, exported)
        assert value is not None, f"{name}.{exported}"
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        package.nothing_here  # noqa: B018


def _python(code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )


def test_the_faces_and_the_command_line_parser_load_no_torch(tmp_path):
    code = (
        "import sys\n"
        + "".join(f"import {face}\n" for face in FACES)
        + "from maskloc.cli import build_parser\nbuild_parser()\n"
        + "print(sorted(m for m in ('torch', 'torchvision', 'sklearn') if m in sys.modules))"
    )
    done = _python(code, tmp_path, PYTHONPATH=str(ROOT))
    assert done.stdout.strip() == "[]"


def test_an_installed_copy_answers_from_any_folder_with_the_bundled_model(tmp_path):
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("maskloc-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "maskloc/bundled/maskloc-mobilenet_v2.pt" in names
    assert not any(name.startswith(("tests/", "app_pages/", "bench/")) for name in names)
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    face = next((ROOT / "data" / "mask-faces" / "images").glob("*_000.jpg"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    command = site / "bin" / "maskloc"
    assert command.is_file()
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("MASKLOC_CHECKPOINT", None)
    done = subprocess.run(
        [sys.executable, str(command), "check", str(face), "--json"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    answer = done.stdout.strip()
    assert '"face": true' in answer and '"class": "' in answer, answer
    where = _python(
        "import maskloc.config.paths as p; print(p.bundled_checkpoint())",
        elsewhere,
        PYTHONPATH=str(site),
    )
    assert where.stdout.strip().startswith(str(site)), where.stdout
