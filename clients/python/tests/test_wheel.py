"""The package as users get it: a wheel built by `python -m build`, installed into a
fresh virtual environment (no access to this source tree) and used against the
real daemon."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest

from .conftest import REPO_ROOT

PKG = REPO_ROOT / "clients" / "python"


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, **kw)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{p.stdout[-4000:]}"
    return p


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> str:
    try:
        import build  # noqa: F401
    except ImportError:
        pytest.fail("the 'build' package is missing: python3 -m pip install build (scripts/test.sh installs it)")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    # Build from a copy so the source tree gets no build/ or egg-info litter.
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist", "tests"))
    cmd = [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp / "dist")]
    try:
        import setuptools  # noqa: F401
        import wheel as _wheel  # noqa: F401

        cmd.append("--no-isolation")  # offline-safe when the backend is installed
    except ImportError:
        pass
    _run(cmd + [str(src)])
    wheels = list((tmp / "dist").glob("switchboard_client-*.whl"))
    assert len(wheels) == 1, wheels
    return str(wheels[0])


def test_wheel_contents(wheel: str) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "switchboard_client/__init__.py",
        "switchboard_client/client.py",
        "switchboard_client/py.typed",
        "switchboard_client/_pb/switchboard/v1/switchboard_pb2.py",
        "switchboard_client/_pb/switchboard/v1/switchboard_pb2.pyi",
    ):
        assert needed in names, f"{needed} missing from the wheel"
    assert not any(n.startswith("tests/") for n in names)


def test_wheel_installs_into_a_fresh_venv_and_talks_to_the_daemon(wheel: str, daemon: str, tmp_path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    _run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel])
    script = textwrap.dedent(
        """
        import json, switchboard_client as sb
        with sb.Client(timeout=30) as c:          # the socket comes from SWITCHBOARD_SOCKET
            r = c.complete("from the wheel", route="default")
            h = c.health()
            print(json.dumps({"file": sb.__file__, "version": sb.__version__, "content": r.content,
                              "request_id": r.request_id, "serving": h.serving,
                              "protocol": c.welcome.protocol_version}))
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["SWITCHBOARD_SOCKET"] = daemon
    out = _run([str(py), "-c", script], env=env, cwd=str(tmp_path)).stdout.strip().splitlines()[-1]
    got = json.loads(out)
    assert got["file"].startswith(str(venv)), f"imported {got['file']}, not the installed wheel"
    assert got["content"] and got["request_id"] and got["serving"] is True and got["protocol"] == 1
