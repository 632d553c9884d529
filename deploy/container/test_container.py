"""The sidecar image built and run for real (podman + buildah + runc, as root).

    python3 -m pytest -q -rs -s deploy/container

Builds the image with deploy/build-image.sh from the binaries in
$SWITCHBOARD_IMAGE_BINARIES (default .build/debug; scripts/test.sh uses the debug
build it already made, see docs/operations.md "Running the image locally"), and an
app image with the C client (deploy/container/build-app-image.sh). Then, across the
container boundary: the sidecar with a read-only root fs, the config mounted
read-only and the socket on a shared volume; a second container as uid 10001
completes and streams a request, as a uid not listed gets PERMISSION_DENIED;
`podman healthcheck run` is healthy; memory stays under the documented limit;
`podman stop` drains an in-flight stream and removes the socket. Last, `podman kube
play` of the kustomize output (deploy/kubernetes-plain-sidecar: podman refuses the
native-sidecar form, which the test shows first).

Every test is skipped, with the reason, when no engine can run here (no podman or
buildah, not root, `podman info` fails) or the binaries are missing. Nothing is
pulled. Containers, pods, volumes, secrets and images carry a per-run name and are
removed at the end.
"""

from __future__ import annotations

import base64
import json
import os
import re
import resource
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
PLAIN = ROOT / "deploy" / "kubernetes-plain-sidecar"
BUNDLE = "Switchboard_SwitchboardProviders.resources"
SOCKET = "/run/switchboard/switchboard.sock"
RUN_ID = f"sbt{os.getpid()}{uuid.uuid4().hex[:6]}"
SIDECAR_IMAGE = f"localhost/switchboard-test:{RUN_ID}"
APP_IMAGE = f"localhost/switchboard-test-app:{RUN_ID}"

# What this machine's podman needs (docs/operations.md, "Running the image locally"):
# runc, not crun (crun fails on hybrid cgroups and on raising rlimits); cgroupfs (no
# systemd); explicit rlimits no higher than the caller's hard limits.
NOFILE = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
NPROC = 4096
ENGINE = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
LIMITS = ["--ulimit", f"nofile={NOFILE}:{NOFILE}", "--ulimit", f"nproc={NPROC}:{NPROC}"]


def binaries_dir() -> Path:
    return Path(os.environ.get("SWITCHBOARD_IMAGE_BINARIES", ROOT / ".build" / "debug"))


def why_no_engine() -> str | None:
    for tool in ("podman", "buildah", "cc"):
        if not shutil.which(tool):
            return f"{tool} is not installed (.ci/run installs podman, buildah, runc)"
    if os.geteuid() != 0:
        return "needs root (buildah mount, podman with runc and cgroupfs)"
    info = subprocess.run(ENGINE + ["info", "--format", "{{.Host.OCIRuntime.Name}}"],
                          capture_output=True, text=True)
    if info.returncode != 0:
        return f"podman cannot run here: {info.stderr.strip()[-300:]}"
    if not Path("/usr/lib/x86_64-linux-gnu/libprotobuf-c.a").exists() and not list(
            Path("/usr/lib").glob("*/libprotobuf-c.a")):
        return "libprotobuf-c-dev (static libprotobuf-c.a) is not installed"
    bins = binaries_dir()
    for f in ("switchboardd", "switchboard", f"{BUNDLE}/catalog.json"):
        if not (bins / f).exists():
            return f"{bins / f} does not exist (build first, or set SWITCHBOARD_IMAGE_BINARIES)"
    return None


def run(args, check=True, timeout=300, **kw):
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {out.returncode}\n{out.stdout}\n{out.stderr}")
    return out


def podman(*args, check=True, timeout=300, env=None):
    return run(ENGINE + list(args), check=check, timeout=timeout, env=env)


def wait_for(predicate, what, timeout=60.0, interval=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def mib(quantity: str) -> float:
    for unit, factor in (("Ki", 1 / 1024), ("Mi", 1), ("Gi", 1024)):
        if quantity.endswith(unit):
            return float(quantity[: -len(unit)]) * factor
    return float(quantity) / (1024 * 1024)


def documented_memory_limit_mib() -> float:
    deployment = yaml.safe_load((K8S / "deployment.yaml").read_text())
    sidecar = next(c for c in deployment["spec"]["template"]["spec"]["initContainers"] if c["name"] == "switchboard")
    return mib(sidecar["resources"]["limits"]["memory"])


# ------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def engine():
    reason = why_no_engine()
    if reason:
        pytest.skip(f"container tests SKIPPED: {reason}")
    return True


@pytest.fixture(scope="module")
def images(engine):
    t0 = time.monotonic()
    run(["bash", str(ROOT / "deploy" / "build-image.sh"), "--binaries", str(binaries_dir()), "--tag", SIDECAR_IMAGE],
        timeout=900)
    t1 = time.monotonic()
    run(["bash", str(ROOT / "deploy" / "container" / "build-app-image.sh"), APP_IMAGE], timeout=600)
    t2 = time.monotonic()
    sizes = {}
    for image in (SIDECAR_IMAGE, APP_IMAGE):
        sizes[image] = int(podman("image", "inspect", image, "--format", "{{.Size}}").stdout.strip())
    print(f"\n[container] sidecar image {sizes[SIDECAR_IMAGE] / 1e6:.1f} MB from {binaries_dir()} "
          f"(built in {t1 - t0:.0f}s); app image {sizes[APP_IMAGE] / 1e6:.2f} MB (built in {t2 - t1:.0f}s)")
    yield sizes
    for image in (SIDECAR_IMAGE, APP_IMAGE):
        podman("rmi", "-f", image, check=False)


def sidecar_config(tmp: Path) -> Path:
    """The image's default config plus a slow simulated route, for the drain test."""
    config = yaml.safe_load((ROOT / "deploy" / "docker" / "switchboard.yaml").read_text())
    config["providers"]["sim-slow"] = {"kind": "simulated", "seed": 3, "latency_ms": {"p50": 3000, "p99": 3500}}
    config["models"]["sim-slow/slow"] = {"input": 0.15, "output": 0.60, "context": 131072,
                                         "capabilities": ["tools", "streaming"]}
    config["routes"]["slow"] = {
        "strategy": "priority", "candidates": ["sim-slow/slow"],
        "retry": {"max_attempts": 1, "deadline_ms": 60000},
        "timeouts": {"first_token_ms": 20000, "idle_ms": 20000, "attempt_ms": 30000},
    }
    path = tmp / "switchboard.yaml"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o644)
    return path


@pytest.fixture(scope="module")
def sidecar(images):
    tmp = Path(tempfile.mkdtemp(prefix="switchboard-ctest-"))
    tmp.chmod(0o755)
    config = sidecar_config(tmp)
    volume = f"{RUN_ID}-sock"
    name = f"{RUN_ID}-sidecar"
    podman("volume", "create", volume)
    limit = documented_memory_limit_mib()
    podman("run", "-d", "--name", name, *LIMITS, "--read-only", "--memory", f"{int(limit)}m",
           "-v", f"{volume}:/run/switchboard", "-v", f"{config}:/etc/switchboard/switchboard.yaml:ro",
           "--stop-timeout", "30", SIDECAR_IMAGE)
    mountpoint = Path(podman("volume", "inspect", volume, "--format", "{{.Mountpoint}}").stdout.strip())
    wait_for(lambda: (mountpoint / "switchboard.sock").exists(), "the socket in the shared volume", 60)
    yield {"name": name, "volume": volume, "socket_on_host": mountpoint / "switchboard.sock", "limit_mib": limit}
    logs = podman("logs", name, check=False)
    print("\n[container] sidecar log tail:\n" + "\n".join((logs.stdout + logs.stderr).splitlines()[-4:]))
    podman("rm", "-f", "-v", "-t", "0", name, check=False)
    podman("volume", "rm", "-f", volume, check=False)
    shutil.rmtree(tmp, ignore_errors=True)


def app(sidecar, user, *args, entrypoint="/sb-probe", timeout=60):
    """Runs the app image as `user` with the socket volume; returns (rc, stdout)."""
    out = podman("run", "--rm", *LIMITS, "--read-only", "--user", user, "-v", f"{sidecar['volume']}:/run/switchboard",
                 "--entrypoint", entrypoint, APP_IMAGE, *args, check=False, timeout=timeout)
    return out.returncode, out.stdout


# ------------------------------------------------------------------- the image


def dockerfile_runtime():
    import importlib.util
    spec = importlib.util.spec_from_file_location("test_deploy", ROOT / "deploy" / "tests" / "test_deploy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_image_config_is_the_dockerfiles(images):
    td = dockerfile_runtime()
    runtime = td.stages()["runtime"]
    inspect = json.loads(podman("image", "inspect", SIDECAR_IMAGE).stdout)[0]
    config = inspect["Config"]
    assert config["Entrypoint"] == json.loads(next(a for k, a in runtime if k == "ENTRYPOINT"))
    assert not config.get("Cmd")
    assert config["User"] == next(a for k, a in runtime if k == "USER")
    assert sorted(config["Volumes"]) == sorted(json.loads(next(a for k, a in runtime if k == "VOLUME")))
    assert config["StopSignal"] == next(a for k, a in runtime if k == "STOPSIGNAL")
    assert config["Env"] == [td.dockerfile_env_path()]
    assert config["Labels"] == td.dockerfile_labels()
    options, cmd = td.dockerfile_healthcheck()
    health = inspect["Healthcheck"]
    assert health["Test"] == ["CMD"] + cmd
    seconds = {"interval": health["Interval"], "timeout": health["Timeout"], "start-period": health["StartPeriod"]}
    for key, ns in seconds.items():
        assert f"{ns // 10**9}s" == options[key], key
    assert str(health["Retries"]) == options["retries"]


def image_tree(tmp_path) -> dict[str, tarfile.TarInfo]:
    ctr = podman("create", SIDECAR_IMAGE).stdout.strip()
    try:
        tar_path = tmp_path / "rootfs.tar"
        podman("export", "-o", str(tar_path), ctr)
    finally:
        podman("rm", "-f", "-v", ctr, check=False)
    with tarfile.open(tar_path) as tar:
        members = {"/" + m.name.lstrip("./"): m for m in tar.getmembers()}
        members["__files__"] = {  # the small files' contents
            name: tar.extractfile(m).read() for name, m in list(members.items())
            if m.isfile() and m.size < 1_000_000 and name.startswith("/etc/")
        }
    return members


def test_image_tree_is_what_the_dockerfile_puts_in(images, tmp_path):
    tree = image_tree(tmp_path)
    files = tree.pop("__files__")
    for line in run(["bash", str(ROOT / "deploy" / "build-image.sh"), "--print-config"]).stdout.splitlines():
        key, _, value = line.partition("=")
        if key == "dir":
            path, mode, owner = value.split()
            m = tree[path]
            assert m.isdir() and oct(m.mode & 0o7777) == oct(int(mode, 8)) and f"{m.uid}:{m.gid}" == owner, path
        elif key == "file":
            path = value.split()[0]
            assert path in tree, path
            if len(value.split()) == 2:
                assert files[path] == (ROOT / value.split()[1]).read_bytes(), path
    assert "switchboard:x:10001:10001::/nonexistent:/usr/sbin/nologin" in files["/etc/passwd"].decode().splitlines()
    assert "switchboard:x:10001:" in files["/etc/group"].decode().splitlines()
    assert tree["/usr/bin/sh"].issym() and tree["/lib64"].issym()
    # Nothing else: no package manager, no stray tools.
    programs = sorted(p for p, m in tree.items() if m.isfile() and m.mode & 0o111 and "/lib" not in p)
    assert programs == ["/opt/switchboard/bin/switchboard", "/opt/switchboard/bin/switchboardd",
                        "/usr/bin/dash", "/usr/bin/sleep"], programs


def test_libraries_the_binaries_need_are_the_dockerfiles_packages(engine):
    """ldd of the real binaries against the Dockerfile's runtime apt list: every
    system library they load belongs to a package the Dockerfile installs or that
    debian:bookworm-slim has (libc6, libgcc-s1). Swift runtime libraries appear only
    in debug builds (the release build links them statically)."""
    td = dockerfile_runtime()
    runtime_runs = " ".join(a for k, a in td.stages()["runtime"] if k == "RUN")
    installed = set(re.search(r"--no-install-recommends ([^&]+)", runtime_runs).group(1).split())
    bins = binaries_dir()
    out = run(["ldd", str(bins / "switchboardd"), str(bins / "switchboard")]).stdout
    paths = sorted(set(re.findall(r"(/\S+) \(0x", out)))
    packages = {}
    for path in paths:
        if path.startswith("/opt/swift/"):
            continue
        owner = run(["dpkg", "-S", path], check=False).stdout or run(
            ["dpkg", "-S", os.path.realpath(path)], check=False).stdout
        packages[path] = owner.split(":")[0]
    assert packages, out
    missing = {p: pkg for p, pkg in packages.items() if pkg not in installed | {"libc6", "libgcc-s1"}}
    assert not missing, f"libraries from packages the Dockerfile does not install: {missing}"


# ------------------------------------------------ across the container boundary


def test_root_fs_and_config_are_read_only(sidecar):
    inspect = json.loads(podman("container", "inspect", sidecar["name"]).stdout)[0]
    assert inspect["HostConfig"]["ReadonlyRootfs"] is True
    mounts = {m["Destination"]: m for m in inspect["Mounts"]}
    assert mounts["/etc/switchboard/switchboard.yaml"]["RW"] is False
    assert mounts["/run/switchboard"]["RW"] is True
    for path in ("/opt/switchboard/x", "/etc/switchboard/switchboard.yaml"):
        out = podman("exec", sidecar["name"], "sh", "-c", f": > {path}", check=False)
        assert out.returncode != 0 and "Read-only file system" in out.stderr, (path, out.stderr)
    # The daemon runs as 10001 and owns the socket it created in the shared volume.
    st = sidecar["socket_on_host"].stat()
    assert (st.st_uid, st.st_gid, oct(st.st_mode & 0o777)) == (10001, 10001, "0o660")


def test_app_container_as_10001_completes_and_streams(sidecar):
    rc, out = app(sidecar, "10001:10001", SOCKET, "default", entrypoint="/example")
    assert rc == 0, out
    assert "[streamed from sim-fast/small]" in out and "serving=true" in out, out
    rc, out = app(sidecar, "10001:10001", "complete", "default", "hello across the boundary")
    assert rc == 0 and re.search(r"^ok provider=sim-fast model=small attempts=1 chars=[1-9]", out, re.M), out
    rc, out = app(sidecar, "10001:10001", "stream", "default", "stream it")
    lines = out.splitlines()
    assert rc == 0 and lines[0] == "first-delta" and re.match(r"ok stream provider=sim-fast chunks=[1-9]", lines[-1]), out


def test_uid_not_listed_gets_permission_denied(sidecar):
    # In the socket's group (mode 0660 lets it connect), but uid 10002 is not in
    # listen.allowed_uids: the daemon's peer-credential check refuses the call.
    rc, out = app(sidecar, "10002:10001", "complete", "default", "let me in")
    assert rc == 1 and out.strip() == "error PERMISSION_DENIED reason=permission_denied", out
    # Outside the group as well: the file mode refuses the connect itself.
    rc, out = app(sidecar, "10002:10002", "complete", "default", "let me in")
    assert rc == 1 and out.strip() == "error IO_ERROR reason=connect_failed", out
    # And the refusals cost the daemon nothing: uid 10001 is still served.
    rc, out = app(sidecar, "10001:10001", "complete", "default", "still there?")
    assert rc == 0 and out.startswith("ok "), out


def test_healthcheck_is_healthy(sidecar):
    out = podman("healthcheck", "run", sidecar["name"], check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    status = podman("container", "inspect", sidecar["name"], "--format", "{{.State.Health.Status}}").stdout.strip()
    assert status == "healthy"


def test_memory_stays_under_the_documented_limit(sidecar):
    for i in range(20):
        rc, out = app(sidecar, "10001:10001", "complete", "default", f"request {i}")
        assert rc == 0, out
    pid = podman("container", "inspect", sidecar["name"], "--format", "{{.State.Pid}}").stdout.strip()
    status = Path(f"/proc/{pid}/status").read_text()
    rss_mib = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024
    hwm_mib = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
    print(f"\n[container] daemon RSS {rss_mib:.1f} MiB (peak {hwm_mib:.1f} MiB), limit {sidecar['limit_mib']:.0f} MiB")
    assert hwm_mib < sidecar["limit_mib"]
    limit = int(podman("container", "inspect", sidecar["name"], "--format", "{{.HostConfig.Memory}}").stdout)
    assert limit == sidecar["limit_mib"] * 1024 * 1024


def test_stop_drains_in_flight_calls_and_removes_the_socket(sidecar):
    proc = subprocess.Popen(
        ENGINE + ["run", "--rm", *LIMITS, "--read-only", "--user", "10001:10001", "-v",
                  f"{sidecar['volume']}:/run/switchboard", "--entrypoint", "/sb-probe", APP_IMAGE,
                  "stream", "slow", "a slow answer"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: lines, "the first streamed delta of the slow call", 30, 0.05)
        assert lines[0].strip() == "first-delta", lines
        t0 = time.monotonic()
        stop = podman("stop", "-t", "30", sidecar["name"], timeout=60)
        stop_s = time.monotonic() - t0
        assert proc.wait(timeout=30) == 0, lines
        reader.join(timeout=10)
        rest = "".join(lines[1:])
    finally:
        if proc.poll() is None:
            proc.kill()
    assert stop.returncode == 0
    assert re.match(r"ok stream provider=sim-slow chunks=[1-9]", rest.strip().splitlines()[-1]), rest
    state = json.loads(podman("container", "inspect", sidecar["name"]).stdout)[0]["State"]
    assert state["ExitCode"] == 0, state  # exited by itself, not SIGKILLed (137)
    assert stop_s < 30
    assert not sidecar["socket_on_host"].exists(), "the socket is removed on stop"
    logs = podman("logs", sidecar["name"]).stdout + podman("logs", sidecar["name"]).stderr
    assert '"shutting down: draining in-flight calls"' in logs and '"calls.in_flight":1' in logs, logs[-2000:]
    assert '"msg":"stopped"' in logs and "drain grace expired" not in logs
    print(f"\n[container] podman stop drained 1 in-flight stream in {stop_s:.1f}s")


def test_restart_on_the_same_volume_reclaims_only_a_stale_socket(sidecar):
    """After the drain test the sidecar is stopped. Started again it serves; a second
    sidecar on the same socket volume refuses to steal the live socket (what two
    replicas sharing one volume would do); after SIGKILL the socket file stays behind
    and a restart removes it as stale and serves again."""
    name = sidecar["name"]
    podman("start", name)
    wait_for(lambda: podman("healthcheck", "run", name, check=False).returncode == 0, "the restarted sidecar", 60)
    second = podman("run", "--rm", *LIMITS, "--read-only", "-v", f"{sidecar['volume']}:/run/switchboard",
                    SIDECAR_IMAGE, check=False, timeout=60)
    assert second.returncode == 1 and "in use by a running daemon; refusing to steal it" in second.stderr, second
    rc, out = app(sidecar, "10001:10001", "complete", "default", "still mine?")
    assert rc == 0 and out.startswith("ok "), out
    podman("kill", "--signal", "KILL", name)
    podman("wait", name, check=False)
    assert sidecar["socket_on_host"].exists(), "SIGKILL leaves the socket file behind"
    rc, out = app(sidecar, "10001:10001", "complete", "default", "anyone?")
    assert rc == 1 and "IO_ERROR" in out, out  # a stale socket: nobody listening
    podman("start", name)
    wait_for(lambda: podman("healthcheck", "run", name, check=False).returncode == 0, "the sidecar after SIGKILL", 60)
    rc, out = app(sidecar, "10001:10001", "complete", "default", "back?")
    assert rc == 0 and out.startswith("ok "), out


# ----------------------------------------------------------------- podman kube play


def kubectl():
    exe = shutil.which("kubectl")
    if not exe:
        pytest.skip("kube play SKIPPED: kubectl is not installed (renders the kustomization)")
    return exe


def playable(objects, name):
    """The kustomize output made playable here: the images are this run's, one
    replica (podman maps every emptyDir to one named volume, shared by all replicas'
    pods), per-run names for the pod and its volumes."""
    out = []
    for obj in objects:
        if obj["kind"] == "ConfigMap":
            obj["metadata"]["name"] = f"{name}-{obj['metadata']['name']}"
        if obj["kind"] == "Deployment":
            obj["metadata"]["name"] = name
            obj["spec"]["replicas"] = 1
            spec = obj["spec"]["template"]["spec"]
            renamed = {}
            for v in spec["volumes"]:
                renamed[v["name"]] = f"{name}-{v['name']}"
                v["name"] = renamed[v["name"]]
                if "configMap" in v:
                    v["configMap"]["name"] = f"{name}-{v['configMap']['name']}"
            for c in spec.get("initContainers", []) + spec["containers"]:
                c["image"] = SIDECAR_IMAGE if c["name"] == "switchboard" else APP_IMAGE
                for m in c.get("volumeMounts", []):
                    m["name"] = renamed[m["name"]]
        out.append(obj)
    return out


def kube_play(path, env):
    return podman("kube", "play", "--quiet", str(path), check=False, timeout=180, env=env)


def kube_down(name, env):
    pod = f"{name}-pod-0"
    podman("pod", "rm", "-f", "-t", "30", pod, check=False, env=env)
    for volume in ("switchboard-socket", "switchboard-state", "switchboard-tmp"):
        podman("volume", "rm", "-f", f"{name}-{volume}", check=False)
    for v in podman("volume", "ls", "--format", "{{.Name}}", check=False).stdout.split():
        if v.startswith(f"{name}-switchboard-config"):
            podman("volume", "rm", "-f", v, check=False)


def test_kube_play_of_the_kustomize_output(images, tmp_path):
    exe = kubectl()
    # podman kube play has no --ulimit / --runtime per container: containers.conf.
    conf = tmp_path / "containers.conf"
    conf.write_text('[containers]\ndefault_ulimits = ["nofile=%d:%d", "nproc=%d:%d"]\n'
                    '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n' % (NOFILE, NOFILE, NPROC, NPROC))
    env = dict(os.environ, CONTAINERS_CONF=str(conf))
    # podman 4.3 stores a played `kind: Secret` as YAML but reads secretKeyRef
    # values as a JSON map of base64 values: create the podman secret that way.
    secret_doc = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    secret_name = secret_doc["metadata"]["name"]
    secret_file = tmp_path / "secret.json"
    secret_file.write_text(json.dumps({k: base64.b64encode(v.encode()).decode()
                                       for k, v in secret_doc["stringData"].items()}))
    podman("secret", "rm", secret_name, check=False)
    podman("secret", "create", secret_name, str(secret_file))
    notes = []
    try:
        # 1. The native-sidecar manifest as it is.
        name = f"{RUN_ID}-native"
        native = [o for o in yaml.safe_load_all(run([exe, "kustomize", str(K8S)]).stdout) if o]
        path = tmp_path / "native.yaml"
        path.write_text(yaml.safe_dump_all(playable(native, name)))
        out = kube_play(path, env)
        kube_down(name, env)
        if out.returncode != 0:
            assert "init container" in out.stderr, out.stderr
            notes.append("native sidecar (initContainers + restartPolicy: Always) refused by podman: "
                         + out.stderr.strip().splitlines()[-1])

        # 2. The plain-container variant the manifest's header describes.
        name = f"{RUN_ID}-plain"
        plain = [o for o in yaml.safe_load_all(run([exe, "kustomize", str(PLAIN)]).stdout) if o]
        deployment = next(o for o in plain if o["kind"] == "Deployment")
        assert "initContainers" not in deployment["spec"]["template"]["spec"]
        path = tmp_path / "plain.yaml"
        path.write_text(yaml.safe_dump_all(playable(plain, name)))
        try:
            out = kube_play(path, env)
            assert out.returncode == 0, out.stdout + out.stderr
            pod = f"{name}-pod-0"
            side, app_ctr = f"{pod}-switchboard", f"{pod}-app"
            # The app connects through the pod's shared emptyDir as uid 10001.
            wait_for(lambda: "app serving=true" in podman("logs", app_ctr, check=False).stdout,
                     "the app container's health call through the socket", 90)
            # The livenessProbe became the container's healthcheck (through /bin/sh).
            wait_for(lambda: podman("healthcheck", "run", side, check=False).returncode == 0,
                     "the sidecar's probe to pass", 60)
            inspect = json.loads(podman("container", "inspect", side).stdout)[0]
            hc = inspect["Config"].get("Healthcheck", {})
            assert "switchboard health --socket /run/switchboard/switchboard.sock" in " ".join(hc.get("Test", [])), hc
            assert inspect["HostConfig"]["ReadonlyRootfs"] is True
            assert inspect["Config"]["User"].startswith("10001")
            assert inspect["HostConfig"]["Memory"] == documented_memory_limit_mib() * 1024 * 1024
            # A call from the app container reaches the router itself: an unknown
            # route is answered by the daemon (NOT_FOUND), not refused by the socket.
            probe = podman("exec", app_ctr, "/sb-probe", "complete", "no-such-route", "hi", check=False)
            assert probe.stdout.startswith("error NOT_FOUND"), probe.stdout + probe.stderr
            grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
            socket_mount = next(m for m in inspect["Mounts"] if m["Destination"] == "/run/switchboard")
            notes.append(f"plain-container variant played: app served through the emptyDir socket, liveness "
                         f"probe healthy; podman made the emptyDir a {socket_mount['Type']} (medium/sizeLimit "
                         f"not applied), ran the livenessProbe only as the healthcheck (through /bin/sh), "
                         f"groups added for fsGroup: {inspect['HostConfig'].get('GroupAdd') or 'none'}, "
                         f"stop timeout {inspect['Config'].get('StopTimeout')}s for "
                         f"terminationGracePeriodSeconds={grace}")
        finally:
            kube_down(name, env)
    finally:
        podman("secret", "rm", secret_name, check=False)
        for note in notes:
            print(f"\n[container] kube play: {note}")
