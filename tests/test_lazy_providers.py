"""The provider bindings load one resource module at a time (rudder_ha.frontends.cdktf.lazy_providers),
and the jsii runtime still finds every type the kernel can hand back."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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
