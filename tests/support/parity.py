"""Puts the cdktf JSON and the Pulumi registrations of one environment into one comparable form.

Both front ends describe the same AWS resources through the same Terraform-bridged schema, so each
resource becomes a :class:`Normalized` (Terraform type, key, snake_case properties) where:

- a reference to another resource's computed attribute reads ``{ref:<terraform type>:<name>.<attr>}`` on
  both sides (a cdktf token ``${aws_sqs_queue.x.arn}``, or the value the Pulumi mocks returned);
- references to name-like attributes resolve to the literal name (known statically on both sides);
- account, partition and region read ``{account}``, ``{partition}``, ``{region}``;
- property names are snake_case and singular on both sides (Pulumi pluralizes list blocks:
  ``metricQueries`` is Terraform's ``metric_query``), a list of one object equals the object, integral
  floats are ints, JSON documents are parsed, and empty values are dropped.

:func:`compare` then pairs resources by key and reports every difference in the chosen properties.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tests.support.pulumi_mocks import ACCOUNT, ELB_ACCOUNT, ID_ATTRIBUTE, PARTITION, RecordingMocks

NAME_ATTRIBUTES = (
    "name",
    "bucket",
    "function_name",
    "alarm_name",
    "identifier",
    "dashboard_name",
    "name_prefix",
    "bucket_prefix",
)
"""Where a resource's physical name is, in order; resources with none are keyed by type alone."""
STATIC_ATTRIBUTES = set(NAME_ATTRIBUTES) | {"role", "port"}
"""Attributes a reference may resolve statically (their value is in the resource's own configuration)."""
OPAQUE_KEYS = {"tag", "tags_all", "dimension", "variable", "default_tag"}
"""Maps (singular spelling) whose keys are data (tag keys, metric dimensions, env vars): kept as they are."""
JSON_DOCUMENTS = {"policy", "assume_role_policy", "dashboard_body", "event_pattern", "content", "access_policy"}
"""String properties that hold JSON: compared parsed, so key order and spacing don't matter."""

_PULUMI_TO_TERRAFORM = {
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/route:Route": "aws_route",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "aws:s3/bucketObjectv2:BucketObjectv2": "aws_s3_object",
    "aws:s3/bucketObject:BucketObject": "aws_s3_object",
}
TERRAFORM_DEFAULTS = {"aws_db_subnet_group": {"description": "Managed by Terraform"}}
"""Schema defaults one front end may spell out and the other leave to the provider."""
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"
"""How the Pulumi engine wraps a secret value (``{sig: ..., value: ...}``): unwrapped before comparing."""
RENAMED = {
    "aws_lambda_function": {"name": "function_name"},
    "aws_lambda_permission": {"function": "function_name"},
    "aws_cloudwatch_metric_alarm": {"name": "alarm_name"},
    "aws_sns_topic_subscription": {"topic": "topic_arn"},
}
"""Properties pulumi-aws names differently from the Terraform schema it bridges (Pulumi -> Terraform)."""
_REFERENCE = r"(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z0-9_]+)\.([a-z0-9_]+)((?:\[\d+\]\.[a-z0-9_]+)*)"
_TOKEN = re.compile(r"(?<!\$)\$\{" + _REFERENCE + r"\}")
_JSONENCODE = re.compile(r"^\$\{jsonencode\((\{.*\})\)\}$", re.DOTALL)
_HCL_PAIR = re.compile(r'"([^"]+)"\s*=\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|' + _REFERENCE + r")\s*(?:,|$)")
NESTED_DEFAULTS = {"aws_db_parameter_group": {"parameter": {"apply_method": "immediate"}}}
"""Defaults of list-block items (Terraform fills them in; pulumi-aws's SDK spells them out)."""
_DATA_SYMBOLS = {
    ("aws_caller_identity", "account_id"): "{account}",
    ("aws_partition", "partition"): "{partition}",
    ("aws_region", "region"): "{region}",
    ("aws_region", "name"): "{region}",
    ("aws_elb_service_account", "arn"): "{elb-account}",
}
ELB_ACCOUNT_ARN = f"arn:{PARTITION}:iam::{ELB_ACCOUNT}:root"
"""What the mocks answer for the ELB service account."""


def snake(name: str) -> str:
    """``healthCheckGracePeriod`` -> ``health_check_grace_period``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def terraform_type(pulumi_type: str) -> str:
    """The Terraform resource type a pulumi-aws type token bridges (``aws:lb/targetGroup:TargetGroup``)."""
    if pulumi_type in _PULUMI_TO_TERRAFORM:
        return _PULUMI_TO_TERRAFORM[pulumi_type]
    module, resource = pulumi_type.split(":")[1].split("/")
    return f"aws_{module}_{snake(resource)}"


ID_IS = {
    terraform_type(kind): RENAMED.get(terraform_type(kind), {}).get(snake(attribute), snake(attribute))
    for kind, attribute in ID_ATTRIBUTE.items()
}
"""Where AWS's id of a resource is another of its attributes (as the mocks answer it): ``.id`` reads as that
attribute on both sides."""


def singular(key: str) -> str:
    """Pulumi pluralizes repeated blocks: ``metric_queries`` -> ``metric_query``, ``tags`` -> ``tag``."""
    if key.endswith("ies"):
        return key[:-3] + "y"
    if key.endswith(("ases", "sses", "uses")):  # aliases -> alias, addresses -> address
        return key[:-2]
    if key.endswith(("as", "ss", "us", "is")):  # alias, address, status: already singular
        return key
    return key[:-1] if key.endswith("s") else key


@dataclass(frozen=True)
class Normalized:
    """One resource in front-end-neutral form."""

    type: str
    """The Terraform resource type."""
    name: str
    """The physical name ('' when the type has none)."""
    props: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.type} {self.name}".strip()


def physical_name(props: dict[str, Any]) -> str:
    for attribute in NAME_ATTRIBUTES:
        value = props.get(attribute)
        if isinstance(value, str) and value and "${" not in value:
            return value
    return ""


def key_name(key: str) -> str:
    """One spelling of a property for both sides: snake_case, singular (Pulumi pluralizes list blocks)."""
    return singular(snake(key))


def _shape(value: Any, key: str = "", rename: bool = True, in_list: bool = False) -> Any:
    """Shapes both sides alike (see the module docstring); ``key`` is the property holding ``value``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and key in JSON_DOCUMENTS and rename:
        try:
            return _shape(json.loads(value), key, rename=False)
        except ValueError:
            return value
    if isinstance(value, dict) and value.get(SECRET_SIGNATURE) == "1b47061264138c4ac30d75fd1eb44270":
        return _shape(value.get("value"), key, rename)
    if isinstance(value, dict):
        keep = not rename or (key in OPAQUE_KEYS and not in_list)
        out = {}
        for k, v in value.items():
            name = k if keep else key_name(k)
            shaped = _shape(v, name, rename=not keep)
            if shaped in (None, [], {}, ""):
                continue
            out[name] = shaped
        return out
    if isinstance(value, list):
        items = [_shape(v, key, rename, in_list=True) for v in value]
        if len(items) == 1 and isinstance(items[0], dict):
            return items[0]
        return items
    return value


def _hcl_object(source: str, reference: Callable[[str], str]) -> dict[str, Any]:
    """The value of a flat HCL object literal (``{"k" = "v", "n" = 1, "r" = aws_x.y.attr}``), as
    ``jsonencode`` would encode it; references become ``reference(expression)``."""
    body = source.strip()[1:-1]
    out: dict[str, Any] = {}
    for match in _HCL_PAIR.finditer(body):
        key, value = match.group(1), match.group(2)
        if value.startswith('"'):
            out[key] = json.loads(value)
        elif value in ("true", "false"):
            out[key] = value == "true"
        elif re.fullmatch(r"-?\d+(?:\.\d+)?", value):
            out[key] = json.loads(value)
        else:
            out[key] = reference(value)
    return out


def _attribute(kind: str, attribute: str) -> str:
    return ID_IS.get(kind, attribute) if attribute == "id" else attribute


def _numbers(value: Any) -> Any:
    """``"30"`` and ``30`` alike: the Terraform schema has some numbers as strings, pulumi-aws as ints."""
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value):
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _finish(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    props = {**TERRAFORM_DEFAULTS.get(kind, {}), **props}
    for block, defaults in NESTED_DEFAULTS.get(kind, {}).items():
        items = props.get(block)
        if isinstance(items, (list, dict)):
            items = items if isinstance(items, list) else [items]
            shaped = [{**defaults, **item} for item in items]
            props[block] = shaped[0] if len(shaped) == 1 else shaped
    value = props.get("value")
    if isinstance(value, str) and value.startswith("{"):
        with contextlib.suppress(ValueError):
            props["value"] = json.loads(value)  # a JSON parameter value: compared parsed, like jsonencode's
    return _numbers(_neutral_front_end(props))


REPLACEMENT = "replacement"
"""Replacement order: Terraform's ``lifecycle.create_before_destroy`` (default: delete first), Pulumi's
``delete_before_replace`` option (default: create first)."""
MANAGED_BY = "managed-by"
"""The one tag that differs by design: it names the front end that deployed the resource."""


def _neutral_front_end(value: Any) -> Any:
    """``managed-by: cdktf`` and ``managed-by: pulumi`` both read ``{front-end}``."""
    if isinstance(value, dict):
        out = {k: _neutral_front_end(v) for k, v in value.items()}
        if MANAGED_BY in out and isinstance(out[MANAGED_BY], str):
            out[MANAGED_BY] = "{front-end}"
        if out.get("key") == MANAGED_BY and isinstance(out.get("value"), str):
            out["value"] = "{front-end}"
        return out
    if isinstance(value, list):
        return [_neutral_front_end(v) for v in value]
    return value


class _Substitution:
    """Replaces known strings inside every string of a structure, longest first."""

    def __init__(self, table: dict[str, str]) -> None:
        self._table = sorted(table.items(), key=lambda kv: -len(kv[0]))

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            for old, new in self._table:
                if old and old in value:
                    value = value.replace(old, new)
            return value
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value


def _literals(region: str) -> dict[str, str]:
    return {f"arn:{PARTITION}:": "arn:{partition}:", f":{region}:": ":{region}:", ACCOUNT: "{account}"}


def _strip_meta(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k not in ("//", "depends_on", "lifecycle", "provider", "count")}


def cdktf_resources(stack: dict[str, Any], region: str) -> list[Normalized]:
    """Every resource of a synthesized cdktf stack, normalized."""
    declared = stack.get("resource", {})
    by_address = {(kind, key): body for kind, items in declared.items() for key, body in items.items()}

    def resolve(match: re.Match[str]) -> str:
        is_data, kind, key, attribute, nested = match.groups()[:5]
        if is_data:
            return _DATA_SYMBOLS.get((kind, attribute), f"{{data:{kind}.{attribute}}}")
        body = by_address.get((kind, key), {})
        if nested:
            return f"{{ref:{kind}:{physical_name(_shape(body))}.{attribute}{nested}}}"
        attribute = _attribute(kind, attribute)
        if attribute in STATIC_ATTRIBUTES and isinstance(body.get(attribute), str) and "${" not in body[attribute]:
            return body[attribute]
        return f"{{ref:{kind}:{physical_name(body)}.{attribute}}}"

    def expand(value: Any) -> Any:
        if isinstance(value, str):
            encoded = _JSONENCODE.match(value)
            if encoded:
                return _hcl_object(encoded.group(1), lambda ref: _TOKEN.sub(resolve, "${" + ref + "}"))
            # Terraform's escapes: "$${" is a literal "${" and "%%{" a literal "%{".
            return _TOKEN.sub(resolve, value).replace("$${", "${").replace("%%{", "%{")
        if isinstance(value, dict):
            return {k: expand(v) for k, v in value.items()}
        if isinstance(value, list):
            return [expand(v) for v in value]
        return value

    literals = _Substitution({**_literals(region), ELB_ACCOUNT_ARN: "{elb-account}"})
    out = []
    for kind, items in declared.items():
        for body in items.values():
            props = _strip_meta(body)
            create_first = body.get("lifecycle", {}).get("create_before_destroy")
            props[REPLACEMENT] = "create-first" if create_first else "delete-first"
            # Documents are parsed before substitution so tokens inside JSON strings are reached too.
            props = _finish(kind, literals(expand(_shape(props))))
            out.append(Normalized(kind, physical_name(props), props))
    return out


def pulumi_resources(mocks: RecordingMocks, region: str) -> list[Normalized]:
    """Every AWS resource the Pulumi program registered (providers and components left out), normalized."""
    recorded = [r for r in mocks.resources if r.type.startswith("aws:") and r.type.count(":") == 2]
    table: dict[str, str] = {}
    shaped = []
    for resource in recorded:
        kind = terraform_type(resource.type)
        props = _shape(resource.inputs)
        if resource.custom_timeouts:
            props["timeout"] = dict(resource.custom_timeouts)  # Terraform's timeouts block
        props[REPLACEMENT] = "delete-first" if resource.delete_before_replace else "create-first"
        for pulumi_name, terraform_name in RENAMED.get(kind, {}).items():
            if pulumi_name in props:
                props[terraform_name] = props.pop(pulumi_name)
        name = physical_name(props)
        shaped.append((kind, name, props))
        echoed = {json.dumps(v, sort_keys=True, default=str) for v in resource.inputs.values()}
        for attribute, value in sorted(resource.outputs.items(), key=lambda kv: kv[0] == "id"):
            if isinstance(value, int) and value > 10**8:
                value = str(value)  # a launch template version: traceable (see the mocks)
            if not isinstance(value, str) or len(value) < 8 or json.dumps(value) in echoed:
                continue  # an input echoed back is a literal on both sides, not a reference
            attribute = _attribute(kind, snake(attribute))
            if attribute in STATIC_ATTRIBUTES and attribute in props:
                continue
            table.setdefault(value, f"{{ref:{kind}:{name}.{attribute}}}")
        for attribute, value in resource.outputs.items():
            if isinstance(value, list) and attribute not in resource.inputs:
                for index, item in enumerate(value):
                    for sub, leaf in item.items() if isinstance(item, dict) else ():
                        if isinstance(leaf, str) and len(leaf) >= 8:
                            path = f"{key_name(attribute)}[{index}].{snake(sub)}"
                            table.setdefault(leaf, f"{{ref:{kind}:{name}.{path}}}")
    references = _Substitution({**table, ELB_ACCOUNT_ARN: "{elb-account}"})
    literals = _Substitution(_literals(region))
    out = []
    for kind, _, props in shaped:
        props = _finish(kind, literals(references(props)))
        out.append(Normalized(kind, physical_name(props), props))
    return out


KEY_FIELDS = {
    "aws_iam_role_policy": ("role", "name"),
    "aws_iam_role_policy_attachment": ("role", "policy_arn"),
    "aws_lb_listener": ("port",),
    "aws_cloudwatch_event_target": ("rule", "target_id"),
    "aws_lambda_permission": ("function_name", "statement_id"),
    "aws_lambda_event_source_mapping": ("function_name", "event_source_arn"),
    "aws_lambda_function_event_invoke_config": ("function_name",),
    "aws_sns_topic_subscription": ("topic_arn", "protocol", "endpoint"),
    "aws_sqs_queue_policy": ("queue_url",),
    "aws_sns_topic_policy": ("arn",),
    "aws_subnet": ("cidr_block",),
    "aws_route": ("route_table_id", "destination_cidr_block"),
}
"""How resources without a physical name pair up (otherwise: by name, then by content)."""


def pairing_key(resource: Normalized) -> str:
    """What pairs a cdktf resource with its Pulumi twin."""
    fields = KEY_FIELDS.get(resource.type)
    if fields:
        return "/".join(str(resource.props.get(f, "")) for f in fields)
    return resource.name


@dataclass(frozen=True)
class Aspect:
    """A property group the two front ends must agree on."""

    title: str
    types: tuple[str, ...]
    fields: tuple[str, ...]
    """Top-level Terraform property names compared (all of them when empty)."""
    ignore: tuple[str, ...] = ()
    """Top-level properties left out when ``fields`` is empty."""


def _project(resource: Normalized, aspect: Aspect) -> dict[str, Any]:
    if aspect.fields:
        wanted = [key_name(f) for f in aspect.fields]
        return {f: resource.props[f] for f in wanted if f in resource.props}
    ignored = {key_name(f) for f in aspect.ignore}
    return {k: v for k, v in resource.props.items() if k not in ignored}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaves; lists of objects by index (``policy.Statement.3.Resource``)."""
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        out: dict[str, Any] = {f"{prefix}.length": len(value)}
        for index, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}.{index}"))
        return out
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else k))
        return out or {prefix: {}}
    return {prefix: value}


def compare(aspect: Aspect, cdktf: Iterable[Normalized], pulumi: Iterable[Normalized]) -> list[str]:
    """Every difference between the two front ends in ``aspect``, one readable line each."""
    left = {}
    right = {}
    for side, resources in ((left, cdktf), (right, pulumi)):
        for resource in resources:
            if resource.type in aspect.types:
                side.setdefault(f"{resource.type} {pairing_key(resource)}".strip(), []).append(resource)
    problems = []
    for key in sorted(set(left) | set(right)):
        a, b = left.get(key, []), right.get(key, [])
        if len(a) != len(b):
            problems.append(f"{aspect.title}: {key}: {len(a)} in cdktf, {len(b)} in Pulumi")
            continue
        pairs = zip(sorted(a, key=_sort_key(aspect)), sorted(b, key=_sort_key(aspect)), strict=True)
        for x, y in pairs:
            fx, fy = _flatten(_project(x, aspect)), _flatten(_project(y, aspect))
            for path in sorted(set(fx) | set(fy)):
                if fx.get(path) != fy.get(path):
                    problems.append(
                        f"{aspect.title}: {key}: {path}: cdktf={_show(fx.get(path))} pulumi={_show(fy.get(path))}"
                    )
    return problems


def _sort_key(aspect: Aspect) -> Callable[[Normalized], str]:
    return lambda r: json.dumps(_project(r, aspect), sort_keys=True, default=str)


def _show(value: Any) -> str:
    return "(absent)" if value is None else json.dumps(value, sort_keys=True, default=str)


def leaves(value: Any) -> list[Any]:
    """Every scalar in a structure: how many settings a comparison looks at."""
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]
