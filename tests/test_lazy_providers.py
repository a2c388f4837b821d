"""The provider bindings load one resource module at a time (rudder_ha.frontends.cdktf.lazy_providers),
and the jsii runtime still finds every type the kernel can hand back; the kernel loads the providers'
JavaScript the same way (rudder_ha.frontends.cdktf.lazy_kernel_exports), checked in a real Node.js."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from rudder_ha.frontends.cdktf import lazy_kernel_exports
from rudder_ha.frontends.cdktf.lazy_providers import PROVIDER_PACKAGES, jsii_submodule_name, split_eager_imports

REPO = Path(__file__).resolve().parents[1]


def test_the_eager_imports_after_publish_are_split_off() -> None:
    head = "import publication\n__all__ = ['vpc']\npublication.publish()\n"
    split = split_eager_imports(head + "\n# Loading\nfrom . import vpc\nfrom . import s3_bucket")
    assert split is not None
    body, names = split
    assert body == head
    assert names == ["vpc", "s3_bucket"]


@pytest.mark.parametrize(
    "source",
    [
        "from . import vpc\n",  # no publish
        "publication.publish()\n",  # nothing after it
        "publication.publish()\nfrom . import vpc\nprint('x')\n",  # something else after it
        "publication.publish()\nfrom . import vpc as other\n",
    ],
)
def test_an_unexpected_package_shape_is_loaded_as_it_is(source: str) -> None:
    assert split_eager_imports(source) is None


def test_python_module_names_map_to_jsii_submodule_names() -> None:
    assert jsii_submodule_name("data_aws_iam_policy_document") == "dataAwsIamPolicyDocument"
    assert jsii_submodule_name("lexv2_models_intent") == "lexv2ModelsIntent"
    assert jsii_submodule_name("vpc") == "vpc"


JSII_TYPE = re.compile(r'jsii_type="([^"]+)"')


def declared_submodule(module_file: Path) -> str | None:
    """The jsii submodule (``@cdktf/provider-aws.vpc``) of the first type a generated module declares."""
    with module_file.open(encoding="utf-8") as lines:
        for line in lines:
            if match := JSII_TYPE.search(line):
                return match.group(1).rsplit(".", 1)[0]
    return None


@pytest.mark.parametrize("package", sorted(PROVIDER_PACKAGES))
def test_every_eager_import_maps_to_the_jsii_submodule_its_types_declare(package: str) -> None:
    """The map handed to the jsii runtime sends each submodule to the Python module whose types say
    they belong to it."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None
    root = Path(spec.origin).parent
    split = split_eager_imports((root / "__init__.py").read_text(encoding="utf-8"))
    assert split is not None, f"{package}'s __init__.py changed shape: it would load eagerly"
    assembly = PROVIDER_PACKAGES[package]
    wrong = {
        name: declared
        for name in split[1]
        if (declared := declared_submodule(root / name / "__init__.py")) != f"{assembly}.{jsii_submodule_name(name)}"
    }
    assert len(split[1]) > 2 and wrong == {}


LAZY_PROBE = """
import json, sys
from rudder_ha.frontends.cdktf import lazy_providers
lazy_providers.install()
from jsii import _reference_map
import cdktf_cdktf_provider_aws as aws
from cdktf_cdktf_provider_aws.provider import AwsProvider
loaded_at_start = sorted(m for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws."))
vpc = aws.vpc.Vpc
found = _reference_map._try_import_type_module("@cdktf/provider-aws.dataAwsIamPolicyDocument.DataAwsIamPolicyDocument")
print(json.dumps({
    "loaded_at_start": loaded_at_start,
    "vpc": vpc.__module__,
    "found": found,
    "by_jsii": "@cdktf/provider-aws.dataAwsIamPolicyDocument.DataAwsIamPolicyDocument" in _reference_map._types,
    "provider": AwsProvider.__jsii_type__,
}))
"""


def test_a_fresh_process_loads_only_what_it_names() -> None:
    """In a new interpreter: importing the provider loads a handful of modules, naming one loads it, and
    the jsii runtime imports the module of a type it has not seen."""
    run = subprocess.run(
        [sys.executable, "-c", LAZY_PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    probe = json.loads(run.stdout.splitlines()[-1])
    assert "cdktf_cdktf_provider_aws.vpc" not in probe["loaded_at_start"]
    assert len(probe["loaded_at_start"]) < 10, probe["loaded_at_start"]
    assert probe["vpc"] == "cdktf_cdktf_provider_aws.vpc"
    assert probe["found"] and probe["by_jsii"]
    assert probe["provider"] == "@cdktf/provider-aws.provider.AwsProvider"


# --- the kernel's side: lazy_kernel_exports.js ------------------------------------------------------

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

INDEX_AS_TSC_EMITS = """"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.beta = exports.alpha = void 0;
exports.alpha = require("./alpha");
exports.beta = require("./beta");
"""
MODULE = 'globalThis.loaded = (globalThis.loaded || []).concat(["{name}"]);\nexports.Thing = class {name} {{}};\n'
KERNEL_PROBE = """
const report = {};
const provider = require(process.argv[1]);
report.loadedByRequire = [...(globalThis.loaded || [])];
report.names = Object.keys(provider).sort();
report.alphaThing = provider.alpha.Thing.name;
report.loadedAfterAlpha = [...globalThis.loaded];
report.sameObject = provider.alpha === require(process.argv[1] + "/alpha");
report.stillSameAfterRead = provider.alpha === provider.alpha;
globalThis.loaded = [];
require(process.argv[2]);
report.otherLoaded = [...globalThis.loaded];
console.log(JSON.stringify(report));
"""


def write_package(root: Path) -> Path:
    """A package with an index shaped as the TypeScript compiler emits the providers' ``lib/index.js``."""
    lib = root / "lib"
    for name in ("alpha", "beta"):
        (lib / name).mkdir(parents=True)
        (lib / name / "index.js").write_text(MODULE.format(name=name), encoding="utf-8")
    (lib / "index.js").write_text(INDEX_AS_TSC_EMITS, encoding="utf-8")
    return lib


def node_with_lazy_exports(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Runs Node.js with the script preloaded through ``NODE_OPTIONS``, as the kernel's processes get it."""
    env = {key: value for key, value in os.environ.items() if key != lazy_kernel_exports.NODE_OPTIONS}
    lazy_kernel_exports.install(env)
    assert NODE is not None
    return subprocess.run([NODE, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120)


@needs_node
def test_a_provider_index_requires_a_module_when_its_name_is_first_read(tmp_path: Path) -> None:
    provider = write_package(tmp_path / "node_modules" / "@cdktf" / "provider-fake")
    other = write_package(tmp_path / "node_modules" / "not-a-provider")
    run = node_with_lazy_exports("-e", KERNEL_PROBE, str(provider), str(other), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["loadedByRequire"] == [], "requiring the index loads no resource module"
    assert report["names"] == ["alpha", "beta"], "every name is still there and enumerable"
    assert report["alphaThing"] == "alpha" and report["loadedAfterAlpha"] == ["alpha"]
    assert report["sameObject"] and report["stillSameAfterRead"]
    assert report["otherLoaded"] == ["alpha", "beta"], "any other package loads as it is"


def _first_member(archive: Path, name: str) -> bytes:
    """The content of ``name`` in a gzipped tar, read as a stream up to it (the provider's assembly is
    37 MB: indexing all of its members first would decompress the whole of it)."""
    with tarfile.open(archive, mode="r|gz") as tar:
        for member in tar:
            if member.name == name:
                content = tar.extractfile(member)
                assert content is not None, f"{name} in {archive} is not a file"
                return content.read()
    raise AssertionError(f"{archive} holds no {name}")


@needs_node
def test_every_line_of_the_real_provider_index_is_made_lazy(tmp_path: Path) -> None:
    """The AWS provider's ``lib/index.js``, from the jsii assembly the bindings ship, has the shape the
    script rewrites: every ``require("./...")`` of it becomes lazy (a new generator would show here)."""
    spec = importlib.util.find_spec("cdktf_cdktf_provider_aws")
    assert spec is not None and spec.origin is not None
    (assembly,) = (Path(spec.origin).parent / "_jsii").glob("*.jsii.tgz")
    source = _first_member(assembly, "package/lib/index.js").decode("utf-8")
    (tmp_path / "index.js").write_text(source, encoding="utf-8")
    probe = (
        "const { lazify } = require(process.argv[1]);"
        "const { source, changed } = lazify(require('fs').readFileSync(process.argv[2], 'utf8'));"
        "console.log(JSON.stringify({ changed, left: (source.match(/^exports\\.\\w+ = require\\(/gm) || []).length }));"
    )
    run = node_with_lazy_exports("-e", probe, str(lazy_kernel_exports.SCRIPT), str(tmp_path / "index.js"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["changed"] == source.count('require("./') > 2000
    assert report["left"] == 0


def test_node_options_get_the_script_once_and_keep_what_was_there() -> None:
    env = {"NODE_OPTIONS": "--max-old-space-size=2048"}
    lazy_kernel_exports.install(env)
    lazy_kernel_exports.install(env)
    option = lazy_kernel_exports.require_option(lazy_kernel_exports.SCRIPT)
    assert env["NODE_OPTIONS"] == f"--max-old-space-size=2048 {option}"
    assert lazy_kernel_exports.require_option(Path('/a b/"c"\\d.js')) == '--require "/a b/\\"c\\"\\\\d.js"'
