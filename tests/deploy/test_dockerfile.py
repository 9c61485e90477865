"""The container image: the Dockerfile's shape, hadolint, and (where podman is installed) a real build.

No registry is reachable here, so the build cannot pull ``python:3.11-slim-bookworm``. Instead the test makes
a local base of the same kind from this machine: the running interpreter's own installation (CPython 3.11,
with pip) plus the Debian packages it and the Dockerfile's commands need (a shell, coreutils, passwd),
copied file by file from the installed packages. It builds every stage of the Dockerfile from that base with
``podman build --isolation=chroot`` (dependencies from a local wheelhouse through a pip.conf mounted for the
build only, so nothing is downloaded), then runs ``sidecar --version`` inside the result.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from tools import required_tool

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
#: Filled by scripts/bootstrap when podman is installed: the project's dependencies as wheels (pip download).
WHEELHOUSE = Path.home() / ".cache/model-health-sidecar/wheelhouse"
#: Debian packages of the local base besides the interpreter's shared-library dependencies.
BASE_PACKAGES = ["base-files", "base-passwd", "dash", "bash", "coreutils", "passwd", "login", "libc-bin",
                 "libstdc++6", "libgcc-s1"]


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n(\s*#.*\n)*", " ", text)
    return [(m[1].upper(), m[2].strip()) for line in joined.splitlines()
            if (m := re.match(r"^\s*([A-Za-z]+)\s+(.*)$", line)) and not line.lstrip().startswith("#")]


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for ins in _instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if ins[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def test_hadolint_finds_nothing() -> None:
    hadolint = required_tool("hadolint")
    proc = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    # ... and it would say so: the same run on a Dockerfile with two classic mistakes.
    bad = subprocess.run([hadolint, "-"], input="FROM python:latest\nRUN pip install numpy\n", capture_output=True,
                         text=True, timeout=60, check=False)
    assert bad.returncode == 1
    assert {"DL3007", "DL3013"} <= set(re.findall(r"DL\d{4}", bad.stdout))


def test_the_dockerfile_builds_wheels_first_and_runs_as_a_numeric_user() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.M)
    assert base is not None
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim-bookworm(@sha256:[0-9a-f]{64})?", base[1]), base[1]
    build, runtime = _stages()
    assert build[0] == ("FROM", "${BASE_IMAGE} AS build")
    assert runtime[0] == ("FROM", "${BASE_IMAGE} AS runtime")
    assert any(i == "RUN" and "pip wheel --wheel-dir /wheels" in a for i, a in build)
    # The final stage gets the virtualenv only: no wheels, no pip runs, no package manager, no compilers.
    final_runs = " ".join(a for i, a in runtime if i == "RUN")
    for word in ("pip", "apt-get", "gcc", "build-essential", "/wheels"):
        assert word not in final_runs, word
    assert ("COPY", "--from=build /opt/venv /opt/venv") in runtime
    users = [a for i, a in runtime if i == "USER"]
    assert users == ["10001:10001"]
    # The same numeric user as the pod's security context.
    deployment = yaml.safe_load((ROOT / "deploy/kubernetes/base/deployment.yaml").read_text(encoding="utf-8"))
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001
    assert [a for i, a in runtime if i == "ENTRYPOINT"] == ['["sidecar"]']
    (cmd,) = [json.loads(a) for i, a in runtime if i == "CMD"]
    assert cmd == ["run", "--config", "/etc/sidecar/sidecar.yaml"]
    assert cmd == deployment["spec"]["template"]["spec"]["initContainers"][0]["args"]


def test_dockerignore_lets_through_exactly_what_the_build_copies() -> None:
    rules = [r for r in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
             if r.strip() and not r.startswith("#")]
    assert rules[0] == "*"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    copied = set()
    for instruction, args in _instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if instruction == "COPY" and not args.startswith("--from"):
            copied.update(args.split()[:-1])
    assert copied == allowed == {"pyproject.toml", "README.md", "sidecar"}


# -- a real build ----------------------------------------------------------------------------------------
def _podman(storage: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    # A private vfs store: no daemon, no shared image cache. podman wants its runroot path short (< 50 chars).
    cmd = ["podman", "--storage-driver", "vfs", "--root", str(storage / "root"), "--runroot", str(storage / "run"),
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _installed_packages() -> dict[str, tuple[list[list[str]], list[str]]]:
    """Installed Debian packages -> (dependency alternatives, provided names)."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Pre-Depends}, ${Depends}\t${Provides}\n"],
                         capture_output=True, text=True, check=True).stdout
    packages = {}
    for line in out.splitlines():
        name, status, depends, provides = line.split("\t")
        if not status.endswith(" installed"):
            continue
        alternatives = [[re.sub(r"[\s(:].*", "", a.strip()) for a in dep.split("|")]
                        for dep in depends.split(",") if dep.strip()]
        packages[name] = (alternatives, [re.sub(r"[\s(:].*", "", p.strip()) for p in provides.split(",") if p])
    return packages


def _with_dependencies(wanted: set[str]) -> set[str]:
    packages = _installed_packages()
    providers: dict[str, str] = {}
    for name, (_, provides) in packages.items():
        for virtual in provides:
            providers.setdefault(virtual, name)
    todo, done = [p for p in wanted if p in packages], set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        for alternatives in packages[name][0]:
            chosen = next((a if a in packages else providers[a] for a in alternatives
                           if a in packages or a in providers), None)
            if chosen is not None:
                todo.append(chosen)
    return done


def _stdlib(prefix: Path) -> Path:
    # Of the base installation, not of the virtualenv running the tests (sysconfig would answer that one).
    return prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"


def _shared_library_packages(prefix: Path) -> set[str]:
    """The Debian packages holding the shared libraries the interpreter and its extension modules load."""
    objects = [prefix / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}",
               *(so for so in _stdlib(prefix).joinpath("lib-dynload").glob("*.so") if "tkinter" not in so.name),
               *prefix.joinpath("lib").glob("libpython*.so*")]
    libraries = set()
    for obj in objects:
        ldd = subprocess.run(["ldd", str(obj)], capture_output=True, text=True, check=False).stdout
        libraries.update(m for m in re.findall(r"=> (/\S+)", ldd) if not m.startswith(str(prefix)))
    packages = set()
    for lib in libraries:
        for candidate in {lib, os.path.realpath(lib), re.sub(r"^/usr/lib/", "/lib/", lib)}:
            proc = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, check=False)
            if proc.returncode == 0:
                packages.add(proc.stdout.split(":")[0])
                break
    return packages


def _local_base(rootfs: Path) -> Path:
    """A root filesystem like python:3.11-slim-bookworm, from this machine's files; returns its tarball."""
    prefix = Path(sys.base_prefix)
    for top in ("bin", "sbin", "lib", "lib64"):  # Debian 12 merged /usr: keep its symlinks
        (rootfs / "usr" / top).mkdir(parents=True, exist_ok=True)
        if Path("/", top).is_symlink():
            (rootfs / top).symlink_to(f"usr/{top}")
    packages = _with_dependencies(set(BASE_PACKAGES) | _shared_library_packages(prefix))
    listed = subprocess.run(["dpkg", "-L", *sorted(packages)], capture_output=True, text=True, check=True).stdout
    for line in listed.splitlines():
        src = Path(line)
        if (not line.startswith("/") or line.startswith(("/usr/share/doc", "/usr/share/man", "/usr/share/locale"))
                or (src.is_dir() and not src.is_symlink()) or not os.path.lexists(src)):
            continue
        dest = rootfs / line.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(dest):
            shutil.copy2(src, dest, follow_symlinks=False)
    etc = rootfs / "etc"
    shutil.copy(rootfs / "usr/share/base-passwd/passwd.master", etc / "passwd")
    shutil.copy(rootfs / "usr/share/base-passwd/group.master", etc / "group")
    for name, line in (("shadow", "root:*:19000:0:99999:7:::\n"), ("gshadow", "root:*::\n")):
        (etc / name).write_text(line, encoding="utf-8")
        (etc / name).chmod(0o640)
    for tmp in ("tmp", "var/tmp"):
        (rootfs / tmp).mkdir(parents=True, exist_ok=True)
        (rootfs / tmp).chmod(0o1777)
    (rootfs / "var/lib").mkdir(parents=True, exist_ok=True)
    # The interpreter at its own path (its prefix is compiled in), pip included, other packages and the
    # test suite left out; python and python3 on PATH as in the official image.
    stdlib = _stdlib(prefix)

    def ignore(directory: str, names: list[str]) -> set[str]:
        if Path(directory) == stdlib / "site-packages":
            return {n for n in names if not n.startswith("pip")}
        if Path(directory) == stdlib:
            return {n for n in names if n in ("test", "idlelib", "tkinter", "turtledemo")}
        return set()

    shutil.copytree(prefix, rootfs / prefix.relative_to("/"), symlinks=True, ignore=ignore)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    (rootfs / "usr/local/bin").mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3", f"python{version}"):
        (rootfs / "usr/local/bin" / name).symlink_to(prefix / "bin" / f"python{version}")
    subprocess.run(["ldconfig", "-r", str(rootfs)], check=True, capture_output=True)
    tarball = rootfs.parent / "base.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
    return tarball


@pytest.mark.timeout(1800)
def test_the_image_builds_from_a_local_base_and_runs_sidecar_version(tmp_path: Path) -> None:
    # podman and the wheelhouse come from scripts/bootstrap: their absence is a failure. The local base is
    # assembled from this machine's Python and Debian packages: a machine without them cannot build it.
    required_tool("podman")
    assert (WHEELHOUSE / ".complete").is_file(), f"no wheelhouse at {WHEELHOUSE}: scripts/bootstrap fills it"
    reasons = []
    if sys.version_info[:2] != (3, 11) or Path(sys.base_prefix) == Path("/usr"):
        reasons.append(f"the local base copies a self-contained CPython 3.11 installation, not {sys.base_prefix}")
    if shutil.which("dpkg") is None:
        reasons.append("the local base is assembled from Debian packages (dpkg)")
    if reasons:
        print("image build skipped: " + "; ".join(reasons))
        pytest.skip("; ".join(reasons))

    storage = Path(tempfile.mkdtemp(prefix="mhs-podman-", dir="/tmp"))
    try:
        _build_and_verify(storage, tmp_path)
    finally:
        _podman(storage, "rmi", "--all", "--force", timeout=300)
        shutil.rmtree(storage, ignore_errors=True)


def _build_and_verify(storage: Path, tmp_path: Path) -> None:
    imported = _podman(storage, "import", str(_local_base(tmp_path / "rootfs")), "localhost/python-local:3.11")
    assert imported.returncode == 0, imported.stderr
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text("[global]\nno-index = true\nfind-links = /wheelhouse\n", encoding="utf-8")
    # --layers=false: one commit per stage rather than per instruction (vfs copies the whole tree each time).
    built = _podman(storage, "build", "--isolation=chroot", "--layers=false",
                    "--build-arg", "BASE_IMAGE=localhost/python-local:3.11",
                    "--volume", f"{WHEELHOUSE}:/wheelhouse:ro", "--volume", f"{pip_conf}:/etc/pip.conf:ro",
                    "--tag", "localhost/model-health-sidecar:test", "--file", str(DOCKERFILE), str(ROOT))
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]

    inspected = _podman(storage, "image", "inspect", "localhost/model-health-sidecar:test")
    assert inspected.returncode == 0, inspected.stderr
    config = json.loads(inspected.stdout)[0]["Config"]
    assert config["Entrypoint"] == ["sidecar"]
    assert config["Cmd"] == ["run", "--config", "/etc/sidecar/sidecar.yaml"]
    assert config["User"] == "10001:10001"

    # `podman run` needs namespaces this machine does not grant; a build step under chroot isolation runs
    # the image's own entry point as its own user instead.
    (tmp_path / "verify").mkdir()
    (tmp_path / "verify" / "Containerfile").write_text(
        "FROM localhost/model-health-sidecar:test\n"
        'RUN ["sh", "-c", "sidecar --version && echo uid=$(id -u) && test ! -e /wheels && ! command -v gcc '
        '&& ! command -v cc && echo clean"]\n',
        encoding="utf-8")
    verified = _podman(storage, "build", "--isolation=chroot", "--layers=false", "--tag", "localhost/verify:test",
                       str(tmp_path / "verify"), timeout=300)
    assert verified.returncode == 0, verified.stdout[-4000:] + verified.stderr[-4000:]
    assert re.search(r"^sidecar 0\.1\.0$", verified.stdout, re.M), verified.stdout
    assert re.search(r"^uid=10001$", verified.stdout, re.M), verified.stdout
    assert re.search(r"^clean$", verified.stdout, re.M), verified.stdout
