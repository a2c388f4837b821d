"""No accidental templates: Terraform evaluates ``${...}`` and ``%{...}`` in every string of a JSON
configuration, so every literal that reaches a synthesized stack (a shell script in a ConfigMap, a
document, a policy built from configuration values, a tag) must arrive escaped, and only cdktf's tokens
are left for Terraform to evaluate (:mod:`rudder_ha.frontends.cdktf.templates`).

Checked with Terraform's own parser (:mod:`tests.support.terraform_parser`): every template-bearing
string of every synthesized stack of every shipped environment must parse, the drain scripts must read
back as written, and configuration values carrying ``${file("/etc/hostname")}`` (built directly, past
``validate``) must read back as that text instead of the file's content.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from rudder_ha.config import EnvironmentConfig
from tests.support.synth import SynthOutput
from tests.support.terraform_parser import (
    evaluate_literals,
    parse_stack,
    parse_templates,
    template_sequences,
    template_strings,
    unescape,
)

pytestmark = pytest.mark.synth

HOSTILE = '${file("/etc/hostname")}'
"""Evaluated, Terraform would put this machine's host name (into tags, the state and the plan)."""
HOSTILE_KEY = f"team-{HOSTILE}"
SHELL = "${HOME:-/root}"
"""Shell parameter expansion: Terraform's parser refuses it (``Extra characters after interpolation``)."""
DIRECTIVE = "%{ if true }on%{ endif }"
HOSTILE_TAGS = {"owner": HOSTILE, HOSTILE_KEY: "x", "shell": SHELL, "directive": DIRECTIVE}
HOSTILE_ARN = f"arn:aws:kms:eu-west-1:111111111111:key/{HOSTILE}"
HOSTILE_ENVIRONMENTS = ("dev", "prod-eks")
"""A single-node environment (instance role) and the eks one (both its stacks, the token reader role)."""


# (a) every shipped stack parses -------------------------------------------------------------------


def test_every_template_of_every_stack_parses(synth: SynthOutput) -> None:
    """Every string Terraform reads as a template, in every synthesized stack of both topologies (the
    eks workload stack is the one whose ConfigMap Terraform refused), is one it can parse."""
    assert {"rudder-ha-dev", "rudder-ha-prod-eks-cluster", "rudder-ha-prod-eks-workload"} <= set(synth.stacks)
    report, problems = [], []
    for name, stack in sorted(synth.stacks.items()):
        result = parse_stack(stack)
        report.append(f"{name}: {result.checked} strings, {len(result.errors)} errors")
        problems += [f"{name}: {error}" for error in result.errors]
        assert result.checked > 0, f"{name}: no template-bearing string found: the check would be empty"
    assert not problems, "Terraform cannot parse:\n" + "\n".join(problems) + "\n\n" + "\n".join(report)


def test_the_parser_reports_where_a_template_breaks() -> None:
    """The check can fail, and says which string and where (Terraform's diagnostic, the text near it);
    what the project escapes parses."""
    from rudder_ha.frontends.cdktf.templates import escape_literal

    script = "#!/bin/sh\nset -u\nsettle=${SETTLE:-30}\n"
    result = parse_templates(
        [
            ("resource.fine", "${aws_vpc.main.id} $${literal} %%{ literal }"),
            ("resource.script", script),
            ("resource.escaped", escape_literal(script)),
        ]
    )
    assert result.checked == 3 and result.ignored == 1  # aws_vpc.main is not declared, as in any stack
    (error,) = result.errors
    assert error.path == "resource.script"
    assert error.summary == "Extra characters after interpolation expression"
    assert "SETTLE:-30" in error.near


def test_the_drain_scripts_reach_the_configmap_as_written(synth: SynthOutput) -> None:
    """Terraform reads the ConfigMap's scripts back byte for byte, shell ``${...}`` included."""
    from rudder_ha.topologies.eks.k8s import render
    from rudder_ha.topologies.eks.k8s.from_config import workload_settings

    (expected,) = [m for m in render(workload_settings(synth.configs["prod-eks"])) if m["kind"] == "ConfigMap"]
    stack = synth.stacks["rudder-ha-prod-eks-workload"]
    (applied,) = [
        r["manifest"] for r in stack["resource"]["kubernetes_manifest"].values() if r["manifest"]["kind"] == "ConfigMap"
    ]
    keys = sorted(expected["data"])
    assert sorted(applied["data"]) == keys
    assert any("${" in expected["data"][k] for k in keys), "no shell ${...} left to check"
    read_back = evaluate_literals([applied["data"][k] for k in keys])
    assert dict(zip(keys, read_back, strict=True)) == expected["data"]


# (b) hostile configuration values -----------------------------------------------------------------


def _hostile(config: EnvironmentConfig) -> EnvironmentConfig:
    """``config`` with template-bearing tags and workspace-token key ARN, as ``validate`` would refuse them."""
    token = dataclasses.replace(config.rudder.workspace_token, kms_key_arn=HOSTILE_ARN)
    return dataclasses.replace(
        config,
        tags={**config.tags, **HOSTILE_TAGS},
        rudder=dataclasses.replace(config.rudder, workspace_token=token),
    )


@pytest.fixture(scope="module")
def hostile(
    shipped_configs: list[EnvironmentConfig],
    tmp_path_factory: pytest.TempPathFactory,
    in_process_synthesis: ModuleType,
) -> dict[str, Any]:
    """Stack name -> synthesized JSON of the hostile variants of :data:`HOSTILE_ENVIRONMENTS`."""
    configs = [_hostile(c) for c in shipped_configs if c.environment in HOSTILE_ENVIRONMENTS]
    assert len(configs) == len(HOSTILE_ENVIRONMENTS)
    outdir: Path = tmp_path_factory.mktemp("hostile.out")
    names = in_process_synthesis.synthesize(configs, outdir)
    return {n: json.loads((outdir / "stacks" / n / "cdk.tf.json").read_text(encoding="utf-8")) for n in names}


def _evaluated(text: str) -> Iterator[str]:
    """The text of each template sequence Terraform would evaluate in ``text`` (to its end)."""
    for start in template_sequences(text):
        yield text[start:]


def test_hostile_values_are_never_evaluated(hostile: dict[str, Any]) -> None:
    """No template sequence Terraform would evaluate, in any string of any hostile stack, is one of
    the configuration's (``file(``, ``HOME``, ``if``): they are all escaped.

    The strings hold references, so Terraform cannot evaluate them here: :func:`template_sequences`
    finds the sequences, after checking that it reads escapes as Terraform does.
    """
    texts = ["$${x}", "$$${x}", "%%{ y }", "%%%{ y }", "a$$b", "$", "100%", '${"$"}${"$"}']
    assert [template_sequences(t) for t in texts] == [[], [], [], [], [], [], [], [0, 6]]
    literal = [t for t in texts if not template_sequences(t)]
    assert evaluate_literals(literal) == [unescape(t) for t in literal]

    found = []
    for name, stack in hostile.items():
        for path, text in template_strings(stack):
            found += [
                f"{name}: {path}: {s[:60]!r}" for s in _evaluated(text) if s.startswith(("${file", "${HOME", "%{"))
            ]
    assert not found, "evaluated by Terraform:\n" + "\n".join(found)


def test_hostile_values_arrive_as_escaped_text(hostile: dict[str, Any]) -> None:
    """The tags (the provider's default tags, resource tags) and the KMS ARN inside the IAM policies
    hold the escaped text: Terraform's parser sees ``$${file("/etc/hostname")}``, a literal."""
    escaped = '$${file("/etc/hostname")}'
    for name, stack in hostile.items():
        (provider,) = stack["provider"]["aws"]
        tags = provider["default_tags"][0]["tags"]
        assert tags["owner"] == escaped, name
        assert tags[f"team-{escaped}"] == "x", name
        assert tags["shell"] == "$${HOME:-/root}" and tags["directive"] == "%%{ if true }on%%{ endif }", name
    policies = [
        (name, key, body["policy"])
        for name, stack in hostile.items()
        for key, body in stack["resource"].get("aws_iam_role_policy", {}).items()
        if "DecryptWorkspaceToken" in body["policy"]
    ]
    assert {name for name, _, _ in policies} == {"rudder-ha-dev", "rudder-ha-prod-eks-workload"}
    for name, key, policy in policies:
        assert f"key/{escaped}".replace('"', '\\"') in policy, f"{name}: {key}"
    resource_tags = [tags for stack in hostile.values() for tags in _tag_maps(stack["resource"]) if "owner" in tags]
    assert resource_tags, "no resource carries the configuration's tags itself (the EKS nodes' launch template does)"
    assert all(tags["owner"] == escaped and tags[f"team-{escaped}"] == "x" for tags in resource_tags)


def _tag_maps(value: Any) -> Iterator[dict[str, Any]]:
    """Every ``tags`` map under ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "tags" and isinstance(item, dict):
                yield item
            yield from _tag_maps(item)
    elif isinstance(value, list):
        for item in value:
            yield from _tag_maps(item)


def test_terraform_reads_hostile_tags_back_as_written(hostile: dict[str, Any]) -> None:
    """Terraform itself evaluates the default tags (keys and values) to the configuration's text, not
    to the host name."""
    (provider,) = hostile["rudder-ha-dev"]["provider"]["aws"]
    tags = provider["default_tags"][0]["tags"]
    keys = [k for k in tags if "{" in k]
    values = [tags[k] for k in ("owner", "directive")]
    assert evaluate_literals(keys + values) == [HOSTILE_KEY, HOSTILE, DIRECTIVE]
    assert evaluate_literals([tags["shell"]]) == [SHELL]  # unescaped, Terraform's parser would refuse it


def test_hostile_stacks_parse(hostile: dict[str, Any]) -> None:
    problems = []
    for name, stack in sorted(hostile.items()):
        result = parse_stack(stack)
        problems += [f"{name}: {error}" for error in result.errors]
    assert not problems, "Terraform cannot parse:\n" + "\n".join(problems)


# (c) the escaping itself ---------------------------------------------------------------------------


def test_escaping_leaves_tokens_alone() -> None:
    from cdktf import Token

    from rudder_ha.frontends.cdktf.templates import TOKEN_MARKER, escape_literal, needs_escaping

    token = Token.as_string(Token.as_any("${aws_vpc.main.id}"))
    assert TOKEN_MARKER.fullmatch(token), f"cdktf encodes tokens differently now: {token}"
    assert escape_literal(f"echo ${{x}} %{{ if }} {token}/${{y}}") == f"echo $${{x}} %%{{ if }} {token}/$${{y}}"
    assert escape_literal(token) == token and not needs_escaping(f"id={token}")
    assert escape_literal("$${x}") == "$$${x}"  # reads back as the text $${x}
    # A literal "$" right before a token would escape it: written as an interpolated "$" instead.
    assert escape_literal(f"cost: ${token}") == f'cost: ${{"$"}}{token}'
    assert escape_literal(f"a$${token}") == f'a${{"$$"}}{token}'


def test_a_literal_dollar_before_a_token_reads_back() -> None:
    """What :func:`escape_literal` writes for ``$`` + token, with the token standing for ``${"T"}``."""
    from rudder_ha.frontends.cdktf.templates import TOKEN_MARKER, escape_literal

    marker = "${TfToken[TOKEN.999]}"
    texts = [escape_literal(t) for t in (f"cost: ${marker}", f"a$${marker}!", f"%{marker}")]
    resolved = [TOKEN_MARKER.sub('${"T"}', t) for t in texts]
    assert evaluate_literals(resolved) == ["cost: $T", "a$$T!", "%T"]


def test_hand_written_expressions_stay_expressions(shipped_configs: list[EnvironmentConfig], tmp_path: Path) -> None:
    """Only cdktf tokens and a pre/postcondition's ``condition`` are written as expressions:
    :func:`~rudder_ha.frontends.cdktf.templates.terraform_expression` makes a token of a hand-written one."""
    from cdktf import App, TerraformOutput

    from rudder_ha.frontends.cdktf.environment_stack import EnvironmentStack
    from rudder_ha.frontends.cdktf.templates import terraform_expression

    (dev,) = [c for c in shipped_configs if c.environment == "dev"]
    stack = EnvironmentStack(App(outdir=str(tmp_path), stack_traces=False), "expressions", dev)
    TerraformOutput(stack, "hand_written", value=terraform_expression('${upper("x")}'))
    TerraformOutput(stack, "literal", value='${upper("x")}')
    TerraformOutput(stack, "mixed", value=f"{terraform_expression('${local.a}')}/${{b}}")
    outputs = stack.to_terraform()["output"]
    assert outputs["hand_written"]["value"] == '${upper("x")}'
    assert outputs["literal"]["value"] == '$${upper("x")}'
    assert outputs["mixed"]["value"] == "${local.a}/$${b}"


def test_a_stack_holding_another_escapes_only_its_own_elements(
    shipped_configs: list[EnvironmentConfig], tmp_path: Path
) -> None:
    from cdktf import App, TerraformOutput

    from rudder_ha.frontends.cdktf.environment_stack import EnvironmentStack

    (dev,) = [c for c in shipped_configs if c.environment == "dev"]
    outer = EnvironmentStack(App(outdir=str(tmp_path), stack_traces=False), "outer", dev)
    TerraformOutput(outer, "mine", value="${a}")
    inner = EnvironmentStack(outer, "inner", dev)
    TerraformOutput(inner, "theirs", value="${b}")
    assert outer.to_terraform()["output"] == {"mine": {"value": "$${a}"}}
    assert inner.to_terraform()["output"] == {"theirs": {"value": "$${b}"}}
