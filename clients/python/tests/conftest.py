"""Test fixtures: the real switchboardd on a temp socket.

The binary is $SWITCHBOARDD, default <repo>/.build/debug/switchboardd. Tests that
need the daemon are skipped (with a message saying so) ONLY when that file does
not exist; a daemon that exists but fails to start fails the tests.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Iterator

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
TESTDATA = REPO_ROOT / "proto" / "testdata"
CONFIG = REPO_ROOT / "clients" / "testing" / "switchboard-test.yaml"


def daemon_binary() -> pathlib.Path:
    return pathlib.Path(os.environ.get("SWITCHBOARDD") or REPO_ROOT / ".build" / "debug" / "switchboardd")


def _can_connect(path: str) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(0.5)
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture(scope="session")
def daemon() -> Iterator[str]:
    """Starts switchboardd with clients/testing/switchboard-test.yaml; yields the socket path."""
    binary = daemon_binary()
    if not binary.exists():
        pytest.skip(f"switchboardd not found at {binary} (build it with `swift build` or set SWITCHBOARDD)")
    tmp = tempfile.mkdtemp(prefix="sbpy.", dir="/tmp")  # short path: sun_path is ~108 bytes
    sock = os.path.join(tmp, "switchboard.sock")
    log_path = os.path.join(tmp, "daemon.log")
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [str(binary), "--config", str(CONFIG), "--socket", sock],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )

    def output() -> str:
        log.flush()
        with open(log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"switchboardd exited with {proc.returncode} during startup:\n{output()}")
            if os.path.exists(sock) and _can_connect(sock):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"switchboardd did not open {sock} within 30s:\n{output()}")
            time.sleep(0.05)
        yield sock
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def client(daemon: str):
    from switchboard_client import Client

    with Client(daemon, timeout=30) as c:
        yield c


class DaemonProcess:
    """A switchboardd of one test, on its own socket, that the test may stop,
    kill and start again on the same path (a sidecar restart)."""

    def __init__(self, binary: pathlib.Path, config: pathlib.Path = CONFIG) -> None:
        self.binary = binary
        self.config = config
        self.tmp = tempfile.mkdtemp(prefix="sbrs.", dir="/tmp")
        self.socket = os.path.join(self.tmp, "switchboard.sock")
        self.proc: "subprocess.Popen[bytes] | None" = None
        self.starts = 0

    def _log_path(self) -> str:
        return os.path.join(self.tmp, f"daemon-{self.starts}.log")

    def start(self) -> None:
        self.starts += 1
        log = open(self._log_path(), "wb")
        self.proc = subprocess.Popen(
            [str(self.binary), "--config", str(self.config), "--socket", self.socket],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"switchboardd exited with {self.proc.returncode}:\n{self.output()}")
            if os.path.exists(self.socket) and _can_connect(self.socket):
                return
            if time.monotonic() > deadline:
                pytest.fail(f"switchboardd did not open {self.socket} within 30s:\n{self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        with open(self._log_path(), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


@pytest.fixture
def own_daemon() -> Iterator[DaemonProcess]:
    """A daemon only this test talks to, which it may restart."""
    binary = daemon_binary()
    if not binary.exists():
        pytest.skip(f"switchboardd not found at {binary} (build it with `swift build` or set SWITCHBOARDD)")
    d = DaemonProcess(binary)
    d.start()
    try:
        yield d
    finally:
        d.cleanup()
