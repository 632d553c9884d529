"""Checks of the deployment files that need no container engine and no cluster.

Run from anywhere:  pytest deploy/tests
Needs PyYAML. Uses, when present: kubectl (kustomize rendering), systemd-analyze,
shellcheck, promtool, hadolint, and the kubernetes_validate module; each check that
needs one of them is skipped when it is missing.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
SYSTEMD = DEPLOY / "systemd"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
BUILD_SCRIPT = DEPLOY / "build-release.sh"
ALERTS = DEPLOY / "prometheus" / "switchboard-alerts.yaml"
OPERATIONS = ROOT / "docs" / "operations.md"
CONFIG_REFERENCE = ROOT / "docs" / "configuration.md"

SOCKET = "/run/switchboard/switchboard.sock"
SOCKET_DIR = "/run/switchboard"
CONFIG_PATH = "/etc/switchboard/switchboard.yaml"
STATE_DIR = "/var/lib/switchboard"
UID = 10001
BUNDLE = "Switchboard_SwitchboardProviders.resources"
HEALTH = ["switchboard", "health", "--socket", SOCKET]

METRICS = {
    "switchboard_requests_total",
    "switchboard_attempts_total",
    "switchboard_circuit_state",
    "switchboard_budget_spent_usd",
    "switchboard_budget_remaining_usd",
    "switchboard_upstream_latency_seconds",
    "switchboard_overhead_seconds",
    "switchboard_in_flight",
    "switchboard_time_to_first_token_seconds",
}

CONFIGS = {
    "docker": DEPLOY / "docker" / "switchboard.yaml",
    "kubernetes": K8S / "switchboard.yaml",
    "systemd": SYSTEMD / "switchboard.yaml",
}


def load(path: Path):
    return yaml.safe_load(path.read_text())


def load_all(path: Path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def is_within(path: str, directory: str) -> bool:
    p, d = PurePosixPath(path), PurePosixPath(directory)
    return p == d or d in p.parents


# ----------------------------------------------------------------------------- YAML


def all_yaml_files():
    return sorted(p for p in DEPLOY.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))


@pytest.mark.parametrize("path", all_yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_parses(path):
    docs = load_all(path)
    assert docs, f"{path} is empty"


# ---------------------------------------------------------------- config vs reference


def reference_schema():
    """The YAML block of docs/configuration.md: the full set of accepted keys."""
    text = CONFIG_REFERENCE.read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block, "no yaml block in docs/configuration.md"
    return yaml.safe_load(block.group(1))


# Maps whose keys are user-chosen names; every entry follows the first example entry.
NAMED_MAPS = {"providers", "models", "routes", "headers"}


def unknown_keys(config, schema, path=""):
    errors = []
    if not isinstance(config, dict) or not isinstance(schema, dict):
        return errors
    for key, value in config.items():
        key_path = f"{path}.{key}" if path else str(key)
        if path.rsplit(".", 1)[-1] in NAMED_MAPS:
            template = next(iter(schema.values())) if schema else None
        elif key in schema:
            template = schema[key]
        else:
            errors.append(f"{key_path}: not in docs/configuration.md")
            continue
        if isinstance(value, dict) and isinstance(template, dict):
            errors += unknown_keys(value, template, key_path)
    return errors


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_uses_only_documented_keys(name):
    config = load(CONFIGS[name])
    assert unknown_keys(config, reference_schema()) == []


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_is_coherent(name):
    config = load(CONFIGS[name])
    schema = reference_schema()
    providers = config["providers"]
    kinds = {"simulated", "openai", "anthropic"}
    for pname, provider in providers.items():
        assert provider["kind"] in kinds, pname
        if "preset" in provider:
            assert provider["preset"] in {
                "openai", "groq", "together", "mistral", "deepseek", "openrouter",
                "fireworks", "vllm", "ollama", "azure",
            }, pname
    for mname, model in config.get("models", {}).items():
        provider, _, model_id = mname.partition("/")
        assert provider in providers and model_id, mname
        assert set(model["capabilities"]) <= {"tools", "vision", "json_schema", "streaming", "prefill"}
    strategies = {"priority", "round_robin", "weighted", "latency", "cost", "least_busy", "score"}
    for rname, route in config["routes"].items():
        assert route.get("strategy", "priority") in strategies, rname
        assert route.get("on_stream_failure", "restart") in {"restart", "continue", "error"}
        for candidate in route["candidates"]:
            target = candidate["target"] if isinstance(candidate, dict) else candidate
            provider = target.partition("/")[0]
            assert provider in providers, f"routes.{rname}: unknown provider {provider}"
            # The built-in catalog may not list every model: the examples pin theirs.
            assert target in config["models"], f"routes.{rname}: {target} has no models entry"
    listen = config["listen"]
    assert listen["socket"] == SOCKET
    assert re.fullmatch(r"0[0-7]{3}", listen["mode"])
    assert config["audit"]["path"].startswith(STATE_DIR + "/")
    assert schema["listen"]["socket"] == SOCKET  # the documented default is the one we use


# ------------------------------------------------------------------------ kubernetes


def k8s_objects():
    kustomization = load(K8S / "kustomization.yaml")
    objects = []
    for resource in kustomization["resources"]:
        objects += load_all(K8S / resource)
    return kustomization, objects


def the_deployment():
    _, objects = k8s_objects()
    deployments = [o for o in objects if o["kind"] in ("Deployment", "Pod")]
    assert len(deployments) == 1
    return deployments[0]


def pod_spec(obj):
    return obj["spec"]["template"]["spec"] if obj["kind"] == "Deployment" else obj["spec"]


def containers_of(spec):
    sidecars = [c for c in spec.get("initContainers", []) if c["name"] == "switchboard"]
    plain = [c for c in spec["containers"] if c["name"] == "switchboard"]
    assert len(sidecars + plain) == 1, "exactly one switchboard container"
    app = [c for c in spec["containers"] if c["name"] != "switchboard"]
    assert len(app) == 1, "exactly one app container"
    return (sidecars + plain)[0], app[0]


def effective(container, spec, field):
    return container.get("securityContext", {}).get(field, spec.get("securityContext", {}).get(field))


def test_kustomization_lists_existing_files_and_generates_the_config():
    kustomization, objects = k8s_objects()
    assert kustomization["kind"] == "Kustomization"
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    generators = {g["name"]: g for g in kustomization["configMapGenerator"]}
    files = generators["switchboard-config"]["files"]
    assert files == ["switchboard.yaml"]
    assert (K8S / "switchboard.yaml").is_file()
    assert {o["kind"] for o in objects} >= {"Deployment"}
    # The Secret is managed out of band so that `apply -k` never resets real keys.
    assert "Secret" not in {o["kind"] for o in objects}
    assert "secretGenerator" not in kustomization


def test_sidecar_is_native_and_shares_the_socket_volume():
    spec = pod_spec(the_deployment())
    sidecar, app = containers_of(spec)
    assert sidecar in spec["initContainers"], "native sidecar form (initContainers)"
    assert sidecar["restartPolicy"] == "Always"

    volumes = {v["name"]: v for v in spec["volumes"]}

    def mount_of(container, path):
        mounts = [m for m in container["volumeMounts"] if m["mountPath"] == path]
        assert len(mounts) == 1, f"{container['name']} mounts {path}"
        return mounts[0]

    s, a = mount_of(sidecar, SOCKET_DIR), mount_of(app, SOCKET_DIR)
    assert s["name"] == a["name"]
    assert "emptyDir" in volumes[s["name"]]
    assert not s.get("readOnly") and not a.get("readOnly")
    app_env = {e["name"]: e.get("value") for e in app.get("env", [])}
    assert app_env.get("SWITCHBOARD_SOCKET") == SOCKET


def test_both_containers_run_as_the_same_uid_and_fsgroup():
    spec = pod_spec(the_deployment())
    sidecar, app = containers_of(spec)
    pod_sc = spec["securityContext"]
    assert pod_sc["fsGroup"] == UID
    assert effective(sidecar, spec, "runAsUser") == effective(app, spec, "runAsUser") == UID
    assert effective(sidecar, spec, "runAsGroup") == effective(app, spec, "runAsGroup") == UID
    config = load(K8S / "switchboard.yaml")
    assert UID in config["listen"]["allowed_uids"]


@pytest.mark.parametrize("which", ["sidecar", "app"])
def test_container_security_context(which):
    spec = pod_spec(the_deployment())
    container = dict(zip(("sidecar", "app"), containers_of(spec)))[which]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert effective(container, spec, "runAsNonRoot") is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert not sc["capabilities"].get("add")
    assert not sc.get("privileged", False)
    assert spec["automountServiceAccountToken"] is False


def test_sidecar_probes_run_switchboard_health():
    sidecar, _ = containers_of(pod_spec(the_deployment()))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert sidecar[probe]["exec"]["command"] == HEALTH, probe
        assert sidecar[probe]["timeoutSeconds"] >= 1


def _mib(q):
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for u, f in units.items():
        if q.endswith(u):
            return float(q[: -len(u)]) * f
    return float(q) / (1024 * 1024)


def _cpu(q):
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def test_sidecar_resources():
    """Requests cover the measured footprint (idle RSS 39 MB, ~0.2 CPU at 1,000 req/s)
    and stay within the limits."""
    sidecar, _ = containers_of(pod_spec(the_deployment()))
    res = sidecar["resources"]
    assert _mib(res["requests"]["memory"]) >= 48
    assert _mib(res["limits"]["memory"]) >= 2 * _mib(res["requests"]["memory"])
    assert _cpu(res["requests"]["cpu"]) >= 0.2
    assert _cpu(res["limits"]["cpu"]) >= _cpu(res["requests"]["cpu"])


def test_sidecar_mounts_config_state_and_tmp():
    spec = pod_spec(the_deployment())
    sidecar, _ = containers_of(spec)
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}

    config = mounts["/etc/switchboard"]
    assert config["readOnly"] is True
    assert volumes[config["name"]]["configMap"]["name"] == "switchboard-config"
    assert {"key": "switchboard.yaml", "path": "switchboard.yaml"} in volumes[config["name"]]["configMap"]["items"]

    state = volumes[mounts[STATE_DIR]["name"]]
    assert "emptyDir" in state or "persistentVolumeClaim" in state
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]

    cfg = load(K8S / "switchboard.yaml")
    assert is_within(cfg["listen"]["socket"], SOCKET_DIR)
    assert is_within(cfg["audit"]["path"], STATE_DIR)
    # Every writable path the daemon needs is a volume (root filesystem is read-only).
    for path in (SOCKET_DIR, STATE_DIR, "/tmp"):
        assert not mounts[path].get("readOnly")


def test_provider_keys_come_from_the_secret():
    sidecar, app = containers_of(pod_spec(the_deployment()))
    env = {e["name"]: e for e in sidecar["env"]}
    secret = load(K8S / "secret.example.yaml")
    assert secret["kind"] == "Secret"
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        ref = env[var]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
        assert "value" not in env[var]
    # The app container never sees the provider keys.
    assert not any("API_KEY" in e["name"] for e in app.get("env", []))


def test_kubernetes_config_is_realistic():
    config = load(K8S / "switchboard.yaml")
    providers = config["providers"]
    assert providers["openai"]["kind"] == "openai"
    assert providers["anthropic"]["kind"] == "anthropic"
    assert any(p.get("preset") == "vllm" for p in providers.values()), "a local vLLM provider"
    assert config["metrics"]["listen"] == "127.0.0.1:9464"
    # Keys are read from the env vars the Deployment sets from the Secret.
    key_envs = {providers["openai"].get("api_key_env")}
    key_envs |= {k["env"] for k in providers["anthropic"].get("keys", []) if "env" in k}
    assert key_envs == {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}
    fallback = [r for r in config["routes"].values() if len(r["candidates"]) >= 2]
    assert fallback, "a route with fallback candidates"
    assert any({c.partition("/")[0] for c in r["candidates"]} >= {"openai", "anthropic"} for r in fallback)
    budgets = [r["budget"] for r in config["routes"].values() if "budget" in r]
    assert budgets and all(
        lim["hard"] >= lim["soft"] for b in budgets for lim in b.values()
    )


def test_termination_grace_covers_the_drain():
    spec = pod_spec(the_deployment())
    drain_s = load(K8S / "switchboard.yaml")["listen"]["drain_grace_ms"] / 1000
    assert spec["terminationGracePeriodSeconds"] > drain_s + 5


def kubectl():
    exe = shutil.which("kubectl")
    if not exe:
        pytest.skip("kubectl not installed")
    return exe


def test_kustomize_renders_configmap_with_embedded_config():
    out = subprocess.run([kubectl(), "kustomize", str(K8S)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    objects = [o for o in yaml.safe_load_all(out.stdout) if o]
    configmaps = [o for o in objects if o["kind"] == "ConfigMap"]
    assert len(configmaps) == 1
    cm = configmaps[0]
    assert cm["metadata"]["name"].startswith("switchboard-config-")  # content hash
    embedded = yaml.safe_load(cm["data"]["switchboard.yaml"])
    assert embedded == load(K8S / "switchboard.yaml")
    assert is_within(embedded["listen"]["socket"], SOCKET_DIR)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    spec = pod_spec(deployment)
    names = [v["configMap"]["name"] for v in spec["volumes"] if "configMap" in v]
    assert names == [cm["metadata"]["name"]], "the Deployment refers to the hashed name"
    sidecar, _ = containers_of(spec)
    assert not sidecar["image"].startswith("switchboard"), "images: rewrote the placeholder"


def test_manifests_match_the_kubernetes_schema():
    kv = pytest.importorskip("kubernetes_validate")
    out = subprocess.run([kubectl(), "kustomize", str(K8S)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    objects = [o for o in yaml.safe_load_all(out.stdout) if o]
    objects.append(load(K8S / "secret.example.yaml"))
    for obj in objects:
        kv.validate(obj, "1.29.0", strict=True)


# --------------------------------------------------------------------------- systemd


def unit():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string((SYSTEMD / "switchboard.service").read_text())
    return parser


def test_systemd_unit_required_keys():
    u = unit()
    service = u["Service"]
    expected = {
        "RuntimeDirectory": "switchboard",
        "StateDirectory": "switchboard",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter": "@system-service",
        "MemoryDenyWriteExecute": "yes",
        "LockPersonality": "yes",
        "CapabilityBoundingSet": "",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "KillSignal": "SIGTERM",
        "EnvironmentFile": "-/etc/switchboard/keys.env",
    }
    for key, value in expected.items():
        assert service.get(key) == value, key
    assert service.get("DynamicUser") == "yes" or service.get("User") == "switchboard"
    assert service.get("PrivateUsers", "no") == "no", "PrivateUsers breaks peer credentials"
    assert u["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_unit_paths_match_its_config():
    service = unit()["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0] == "/opt/switchboard/bin/switchboardd"
    assert argv[argv.index("--config") + 1] == CONFIG_PATH
    socket = argv[argv.index("--socket") + 1]
    config = load(SYSTEMD / "switchboard.yaml")
    assert socket == config["listen"]["socket"]
    assert is_within(socket, "/run/" + service["RuntimeDirectory"])
    assert is_within(config["audit"]["path"], "/var/lib/" + service["StateDirectory"])
    assert " ".join(HEALTH[1:]) in service["ExecStartPost"]
    assert config["listen"]["group"] == service["Group"]


def test_systemd_stop_timeout_exceeds_drain_grace():
    service = unit()["Service"]
    timeout = service["TimeoutStopSec"]
    seconds = int(timeout[:-1]) if timeout.endswith("s") else int(timeout)
    drain_s = load(SYSTEMD / "switchboard.yaml")["listen"]["drain_grace_ms"] / 1000
    assert seconds > drain_s + 5


def test_systemd_no_socket_activation_promised():
    text = (SYSTEMD / "switchboard.service").read_text()
    assert not list(SYSTEMD.glob("*.socket"))
    assert "ListenStream" not in text.replace("Sockets=/ListenStream=", "")
    assert re.search(r"No socket activation.*binds and owns its socket", text, re.S)
    assert "not supported" in text


def verifiable_unit(tmp_path):
    """The unit with the (not installed) daemon replaced by /bin/true, so verify
    checks the unit's syntax rather than complaining about the missing binary."""
    text = (SYSTEMD / "switchboard.service").read_text()
    path = tmp_path / "switchboard.service"
    path.write_text(text.replace("/opt/switchboard/bin/switchboardd", "/bin/true"))
    return path


def systemd_analyze():
    exe = shutil.which("systemd-analyze")
    if not exe:
        pytest.skip("systemd-analyze not installed")
    return exe


def test_systemd_analyze_verify(tmp_path):
    exe = systemd_analyze()
    out = subprocess.run([exe, "verify", str(verifiable_unit(tmp_path))], capture_output=True, text=True)
    complaints = [l for l in (out.stdout + out.stderr).splitlines() if "switchboard.service" in l]
    assert out.returncode == 0 and not complaints, out.stdout + out.stderr


def test_systemd_analyze_security(tmp_path):
    exe = systemd_analyze()
    out = subprocess.run(
        [exe, "security", "--offline=yes", "--no-pager", str(verifiable_unit(tmp_path))],
        capture_output=True, text=True,
    )
    if out.returncode != 0 and "offline" in out.stderr:
        pytest.skip("systemd-analyze security --offline unsupported")
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out.stdout)
    assert match, out.stdout + out.stderr
    assert float(match.group(1)) <= 2.0


def test_sysusers_creates_the_unit_user():
    lines = [l.split() for l in (SYSTEMD / "switchboard.sysusers").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    assert ["u", "switchboard"] == lines[0][:2]
    assert unit()["Service"]["User"] == "switchboard"


# ------------------------------------------------------------------------ Dockerfile


def dockerfile_instructions():
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, args = current.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        current = ""
    assert not current, "dangling continuation line"
    return instructions


def stages():
    result, name = {}, None
    for keyword, args in dockerfile_instructions():
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+) AS (\S+)", args, re.I)
            assert match, f"unnamed stage: FROM {args}"
            name = match.group(2)
            result[name] = [("FROM", match.group(1))]
        elif name:
            result[name].append((keyword, args))
    return result


def arg_defaults():
    return dict(
        a.split("=", 1) for k, a in dockerfile_instructions() if k == "ARG" and "=" in a
    )


SWIFT_COMMAND = re.compile(r"swift (?:build|package)[^\"&;|)\n]*")


def dockerfile_swift_commands():
    commands = []
    for keyword, args in stages()["build"]:
        if keyword == "RUN":
            commands += [" ".join(m.split()) for m in SWIFT_COMMAND.findall(args)]
    return commands


def test_dockerfile_stages_and_images():
    s = stages()
    assert list(s) == ["build", "runtime"]
    defaults = arg_defaults()

    def image(stage):
        ref = s[stage][0][1]
        return defaults.get(ref[2:-1], ref) if ref.startswith("${") else ref

    assert image("build") == "swift:6.3-bookworm"
    assert image("runtime") == "debian:bookworm-slim"
    build_runs = " ".join(a for k, a in s["build"] if k == "RUN")
    runtime_runs = " ".join(a for k, a in s["runtime"] if k == "RUN")
    assert "libsqlite3-dev" in build_runs
    for package in ("ca-certificates", "libsqlite3-0"):
        assert package in runtime_runs


def test_dockerfile_runtime_user_healthcheck_entrypoint():
    runtime = stages()["runtime"]
    keywords = [k for k, _ in runtime]
    users = [a for k, a in runtime if k == "USER"]
    assert users and users[-1].split(":")[0] == str(UID)
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    assert f"--uid {UID}" in " ".join(a for k, a in runtime if k == "RUN")

    healthcheck = next(a for k, a in runtime if k == "HEALTHCHECK")
    cmd = json.loads(healthcheck.split(" CMD ", 1)[1])
    assert Path(cmd[0]).name == "switchboard" and cmd[1:] == HEALTH[1:]

    entrypoint = json.loads(next(a for k, a in runtime if k == "ENTRYPOINT"))
    assert Path(entrypoint[0]).name == "switchboardd"
    assert entrypoint[1:] == ["--config", CONFIG_PATH]

    volumes = json.loads(next(a for k, a in runtime if k == "VOLUME"))
    assert SOCKET_DIR in volumes and STATE_DIR in volumes
    assert ("STOPSIGNAL", "SIGTERM") in runtime


def test_dockerfile_copies_binaries_and_resource_bundle():
    s = stages()
    build_runs = " ".join(a for k, a in s["build"] if k == "RUN")
    for name in ("switchboardd", "switchboard", BUNDLE):
        assert f"$bin/{name}" in build_runs
    copies = [a for k, a in s["runtime"] if k == "COPY" and a.startswith("--from=build")]
    assert copies == ["--from=build /staging/ /opt/switchboard/"]
    env = " ".join(a for k, a in s["runtime"] if k == "ENV")
    assert "/opt/switchboard/bin" in env
    assert "--static-swift-stdlib" in build_runs


def test_dockerfile_build_commands_match_build_release_script():
    out = subprocess.run(["bash", str(BUILD_SCRIPT), "--print-commands"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    script_commands = out.stdout.splitlines()
    assert script_commands == dockerfile_swift_commands()
    assert "swift build -c release --static-swift-stdlib --product switchboardd" in script_commands
    assert "swift build -c release --static-swift-stdlib --product switchboard" in script_commands


def test_build_script_stages_the_same_tree():
    script = BUILD_SCRIPT.read_text()
    assert os.access(BUILD_SCRIPT, os.X_OK)
    assert 'install -m 0755 "$bin/switchboardd" "$bin/switchboard" "$dest/bin/"' in script
    assert 'cp -R "$bin/$BUNDLE" "$dest/bin/"' in script
    assert f"BUNDLE={BUNDLE}" in script
    # Same "no dynamic Swift runtime" check as the image build.
    docker_check = "grep -E 'libswift|libFoundation|libdispatch|not found'"
    assert docker_check in script and docker_check in DOCKERFILE.read_text()


def test_build_script_usage_errors_before_building():
    out = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True)
    assert out.returncode == 2 and "usage" in out.stderr
    assert subprocess.run(["bash", "-n", str(BUILD_SCRIPT)]).returncode == 0


def test_build_script_shellcheck():
    exe = shutil.which("shellcheck")
    if not exe:
        pytest.skip("shellcheck not installed")
    out = subprocess.run([exe, str(BUILD_SCRIPT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def test_hadolint():
    exe = shutil.which("hadolint")
    if not exe:
        pytest.skip("hadolint not installed")
    # DL3008: apt versions are not pinned on purpose (security updates of the base).
    out = subprocess.run([exe, "--ignore", "DL3008", str(DOCKERFILE)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def dockerignore_included(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a parent
    directory matches everything below it; `*` does not cross `/`."""
    included = True
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        regex = re.escape(pattern.strip("/")).replace(r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(re.fullmatch(regex, p) for p in prefixes):
            included = negate
    return included


def test_dockerignore_keeps_what_copy_needs_and_drops_build_products():
    sources = []
    for keyword, args in dockerfile_instructions():
        if keyword == "COPY" and not args.startswith("--from"):
            sources += args.split()[:-1]
    assert sources
    for source in sources:
        if source.endswith("*"):  # optional file (Package.resolved)
            continue
        assert (ROOT / source).exists(), source
        assert dockerignore_included(source.rstrip("/")), source
    assert dockerignore_included("Sources/switchboardd/main.swift")
    assert dockerignore_included("Sources/SwitchboardProviders/Resources/catalog.json")
    assert dockerignore_included("Package.resolved")
    for excluded in (".build/release/switchboardd", ".git/config", "clients/python/README.md",
                     "Sources/.build/x", "audit.sqlite"):
        assert not dockerignore_included(excluded), excluded


def test_image_default_config_matches_the_image():
    config = load(DEPLOY / "docker" / "switchboard.yaml")
    assert config["listen"]["socket"] == SOCKET
    assert UID in config["listen"]["allowed_uids"]
    assert all(p["kind"] == "simulated" for p in config["providers"].values()), "no keys needed"
    copy = [a for k, a in stages()["runtime"] if k == "COPY" and "deploy/docker/switchboard.yaml" in a]
    assert copy == [f"deploy/docker/switchboard.yaml {CONFIG_PATH}"]


# ------------------------------------------------------ build-image.sh vs Dockerfile

BUILD_IMAGE = DEPLOY / "build-image.sh"
PLAIN_SIDECAR = DEPLOY / "kubernetes-plain-sidecar"
# debian:bookworm-slim's PATH, which the Dockerfile's `ENV PATH=...:$PATH` extends.
DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def dockerfile_env_path():
    env = next(a for k, a in stages()["runtime"] if k == "ENV")
    assert env.startswith("PATH=")
    return env.replace("$PATH", DEBIAN_PATH)


def dockerfile_labels():
    labels = {}
    for keyword, args in stages()["runtime"]:
        if keyword == "LABEL":
            for word in shlex.split(args):
                key, _, value = word.partition("=")
                labels[key] = value
    return labels


def dockerfile_healthcheck():
    """({option: value}, CMD argv) of the runtime stage's HEALTHCHECK."""
    healthcheck = next(a for k, a in stages()["runtime"] if k == "HEALTHCHECK")
    options, cmd = healthcheck.split(" CMD ", 1)
    parsed = dict(o[2:].split("=", 1) for o in options.split())
    return parsed, json.loads(cmd)


def build_image_config():
    out = subprocess.run(["bash", str(BUILD_IMAGE), "--print-config"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    config = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition("=")
        config.setdefault(key, []).append(value)
    return config


def test_build_image_config_is_the_dockerfiles():
    """deploy/build-image.sh (FROM scratch, no pull) sets exactly the Dockerfile's
    runtime-stage config; deploy/container/test_container.py checks the built image."""
    runtime = stages()["runtime"]
    c = build_image_config()
    assert json.loads(c["entrypoint"][0]) == json.loads(next(a for k, a in runtime if k == "ENTRYPOINT"))
    options, cmd = c["healthcheck"][0].split(" CMD ", 1)
    assert (dict(o[2:].split("=", 1) for o in options.split()), json.loads(cmd)) == dockerfile_healthcheck()
    assert c["env"] == [dockerfile_env_path()]
    assert c["volume"] == json.loads(next(a for k, a in runtime if k == "VOLUME"))
    assert c["user"] == [next(a for k, a in runtime if k == "USER")]
    assert c["stopsignal"] == [next(a for k, a in runtime if k == "STOPSIGNAL")]
    assert dict(label.split("=", 1) for label in c["label"]) == dockerfile_labels()
    assert dockerfile_labels()["io.switchboard.socket"] == SOCKET


def test_build_image_puts_in_the_dockerfiles_files_user_and_directories():
    runtime = stages()["runtime"]
    runs = " ".join(a for k, a in runtime if k == "RUN")
    c = build_image_config()
    # useradd/groupadd in the Dockerfile -> the passwd/group lines the script writes.
    useradd = re.search(r"useradd (.*?) switchboard\b", runs).group(1).split()
    opt = {useradd[i]: useradd[i + 1] for i in range(len(useradd) - 1) if useradd[i].startswith("--") and not useradd[i + 1].startswith("--")}
    assert c["passwd"] == [f"switchboard:x:{opt['--uid']}:{opt['--gid']}::{opt['--home-dir']}:{opt['--shell']}"]
    gid = re.search(r"groupadd --system --gid (\d+) switchboard", runs).group(1)
    assert c["group"] == [f"switchboard:x:{gid}:"]
    # Directories: created, owned and moded as the Dockerfile's RUN does.
    dirs = {d.split()[0]: d.split()[1:] for d in c["dir"]}
    mkdir = re.search(r"mkdir -p ([^&]+)", runs).group(1).split()
    chown = re.search(r"chown (\S+) ([^&]+)", runs)
    chmod = re.search(r"chmod (\S+) ([^&]+)", runs)
    for path in mkdir:
        assert path in dirs, path
        if path in chown.group(2).split():
            assert dirs[path][1] == chown.group(1), path
        if path in chmod.group(2).split():
            assert dirs[path][0] == chmod.group(1), path
    for path in json.loads(next(a for k, a in runtime if k == "VOLUME")):
        assert dirs[path] == ["0750", f"{UID}:{UID}"], path
    assert dirs["/tmp"] == ["1777", "0:0"]
    # Files: the staged tree (COPY --from=build /staging/ /opt/switchboard/), the
    # default config, the CA bundle of the ca-certificates package.
    files = {f.split()[0]: f.split()[1:] for f in c["file"]}
    for name in ("switchboardd", "switchboard", f"{BUNDLE}/catalog.json"):
        assert f"/opt/switchboard/bin/{name}" in files, name
    copy = next(a for k, a in runtime if k == "COPY" and "deploy/docker/switchboard.yaml" in a).split()
    assert files[copy[1]] == [copy[0]]
    assert "/etc/ssl/certs/ca-certificates.crt" in files and "ca-certificates" in runs
    # /bin/sh and sleep: in the Debian base (dash, coreutils); kube play's probes and
    # the plain-container preStop hook use them.
    assert "/usr/bin/sleep" in files and "/usr/bin/dash" in files and c["symlink"] == ["/usr/bin/sh dash"]


def test_build_image_script_usage_and_syntax():
    assert os.access(BUILD_IMAGE, os.X_OK)
    assert subprocess.run(["bash", "-n", str(BUILD_IMAGE)]).returncode == 0
    out = subprocess.run(["bash", str(BUILD_IMAGE), "--bogus"], capture_output=True, text=True)
    assert out.returncode == 2 and "usage" in out.stderr
    script = BUILD_IMAGE.read_text()
    assert "--format docker" in script, "HEALTHCHECK exists only in the docker image format"
    assert "buildah from --quiet scratch" in script and "buildah pull" not in script


def test_build_image_shellcheck():
    exe = shutil.which("shellcheck")
    if not exe:
        pytest.skip("shellcheck not installed")
    for script in (BUILD_IMAGE, DEPLOY / "container" / "build-app-image.sh"):
        out = subprocess.run([exe, str(script)], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout


def test_plain_sidecar_overlay_is_the_documented_edit():
    """deploy/kubernetes-plain-sidecar is the header comment's plain-container
    variant: the sidecar moved into `containers`, no restartPolicy, a preStop sleep,
    and the grace period above that sleep + drain_grace_ms."""
    kustomization = load(PLAIN_SIDECAR / "kustomization.yaml")
    assert kustomization["resources"] == ["../kubernetes"]
    ops = yaml.safe_load(kustomization["patches"][0]["patch"])
    assert {"op": "move", "from": "/spec/template/spec/initContainers/0",
            "path": "/spec/template/spec/containers/-"} in ops
    assert {"op": "remove", "path": "/spec/template/spec/containers/1/restartPolicy"} in ops
    prestop = next(o for o in ops if o["op"] == "add")["value"]["preStop"]["exec"]["command"]
    assert prestop[0] == "sleep"
    drain_s = load(K8S / "switchboard.yaml")["listen"]["drain_grace_ms"] / 1000
    assert pod_spec(the_deployment())["terminationGracePeriodSeconds"] > float(prestop[1]) + drain_s
    assert "deploy/kubernetes-plain-sidecar" in (K8S / "deployment.yaml").read_text()


def test_plain_sidecar_overlay_renders():
    out = subprocess.run([kubectl(), "kustomize", str(PLAIN_SIDECAR)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    deployment = next(o for o in yaml.safe_load_all(out.stdout) if o and o["kind"] == "Deployment")
    spec = pod_spec(deployment)
    assert "initContainers" not in spec
    names = [c["name"] for c in spec["containers"]]
    assert names == ["app", "switchboard"]
    sidecar = spec["containers"][1]
    assert "restartPolicy" not in sidecar
    assert sidecar["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
    assert sidecar["readinessProbe"]["exec"]["command"] == HEALTH
    assert not sidecar["image"].startswith("switchboard")


# ------------------------------------------------------------- alerts and operations


def test_alert_rules_use_the_documented_metrics():
    rules = [r for g in load(ALERTS)["groups"] for r in g["rules"]]
    assert len(rules) >= 6
    used = set()
    for rule in rules:
        assert rule["alert"].startswith("Switchboard")
        assert rule["labels"]["severity"] in {"page", "ticket"}
        for name in re.findall(r"switchboard_[a-z_]+", rule["expr"]):
            used.add(re.sub(r"_(bucket|sum|count)$", "", name))
    assert used <= METRICS, used - METRICS
    assert used == METRICS, f"no rule uses {METRICS - used}"


def test_promtool_check_rules():
    exe = shutil.which("promtool")
    if not exe:
        pytest.skip("promtool not installed")
    out = subprocess.run([exe, "check", "rules", str(ALERTS)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_operations_doc_covers_the_surface():
    text = OPERATIONS.read_text()
    for metric in METRICS:
        assert f"`{metric}`" in text, metric
    for phrase in (
        "switchboard keys set", "switchboard keys rotate", "switchboard explain",
        "switchboard decisions --socket $S --since 1h --route chat --outcome failed --json",
        "PERMISSION_DENIED", "allowed_uids", "allowed_gids", "listen.mode", "listen.group",
        "SIGHUP", "SIGTERM", "drain_grace_ms", "stale socket", "migrations", ".backup",
        "systemctl reload switchboard", "kubectl apply -k deploy/kubernetes/",
        "docker build", "deploy/build-release.sh",
    ):
        assert phrase in text, phrase
    for heading in ("## Running", "## Upgrading", "## Rotating keys", "## Reading decisions",
                    "## Metrics and alerts", "## Socket access control", "## Backups of the audit database"):
        assert heading in text, heading


def _anchors(path):
    return {
        # GitHub's rule: lower case, drop punctuation but keep "-" and "_", spaces to "-".
        re.sub(r"[^a-z0-9 _-]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", path.read_text(), re.M)
    }


def test_operations_doc_links_resolve():
    text = OPERATIONS.read_text()
    anchors = _anchors(OPERATIONS)
    for target in re.findall(r"\]\(([^)]+)\)", text):
        if target.startswith("#"):
            assert target[1:] in anchors, target
        elif not re.match(r"[a-z]+://", target):
            path, _, anchor = target.partition("#")
            assert (OPERATIONS.parent / path).exists(), target
            if anchor and path.endswith(".md"):
                assert anchor in _anchors(OPERATIONS.parent / path), target


def test_paths_agree_everywhere():
    """One socket path, one uid, one config path across image, pod and unit."""
    sidecar, app = containers_of(pod_spec(the_deployment()))
    assert sidecar["readinessProbe"]["exec"]["command"][-1] == SOCKET
    healthcheck = next(a for k, a in stages()["runtime"] if k == "HEALTHCHECK")
    assert SOCKET in healthcheck
    assert SOCKET in unit()["Service"]["ExecStart"]
    for config in CONFIGS.values():
        assert load(config)["listen"]["socket"] == SOCKET
