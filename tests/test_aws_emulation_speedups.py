"""The speed-ups of the AWS emulation change nothing a test observes: each is installed in every test
process (``tests/conftest.py``), shares only what botocore or moto would have built the same way again,
and keeps apart what differs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import botocore.hooks
import botocore.session
import botocore.useragent
import moto.core.responses
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.core.serialize import BaseJSONSerializer, ResponseSerializer, XFormedAttributePicker, get_serializer_class
from moto.core.utils import camelcase_to_underscores, get_service_model, method_names_from_class
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.responses import DynamoHandler
from moto.ec2.responses import EC2Response

from tests.support.aws_emulation import (
    botocore_client_classes,
    botocore_event_names,
    botocore_models,
    botocore_user_agent,
    moto_attribute_names,
    moto_dispatch,
    moto_dynamodb_items,
    moto_images,
)

REGION = "eu-west-1"


@pytest.fixture
def mocked(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


def test_the_speed_ups_are_installed_in_this_process() -> None:
    assert botocore.session.create_loader is botocore_models._shared_loader
    assert botocore.client.ClientCreator._load_service_model is botocore_models._shared_service_model
    assert botocore.client.ClientCreator._create_client_class is botocore_client_classes._shared_client_class
    assert moto.core.responses.method_names_from_class is moto_dispatch._method_names
    assert BaseJSONSerializer._serialize_type_structure is moto_dynamodb_items._serialize_type_structure
    assert Item.__init__ is moto_dynamodb_items.build_item
    assert botocore.useragent.sanitize_user_agent_string_component is botocore_user_agent._remembered_sanitize
    assert botocore.hooks.EventAliaser.__init__ is botocore_event_names._init_with_shared_cache
    assert XFormedAttributePicker.get_possible_keys is moto_attribute_names._remembered_possible_keys
    assert ResponseSerializer.get_value is moto_attribute_names._picked_value
    assert Path(os.environ[moto_images.VARIABLE]).is_file()


def test_clients_of_one_service_share_a_class_and_keep_their_own_state(mocked: None) -> None:
    first = boto3.session.Session().client("sqs", region_name=REGION)
    second = boto3.session.Session().client("sqs", region_name="us-east-1")
    assert type(first) is type(second)
    assert first.meta.service_model is second.meta.service_model
    assert first.meta.region_name == REGION and second.meta.region_name == "us-east-1"
    assert first.meta.events is not second.meta.events
    first.create_queue(QueueName="only-in-eu-west-1")
    assert "QueueUrls" not in second.list_queues()
    assert type(boto3.client("sns", region_name=REGION)) is not type(first)


def test_a_session_with_another_class_hook_gets_its_own_class(mocked: None) -> None:
    def add_marker(class_attributes: dict[str, object], **_: object) -> None:
        class_attributes["speed_up_marker"] = lambda self: "marked"

    plain = boto3.session.Session().client("sqs", region_name=REGION)
    hooked_session = boto3.session.Session()
    hooked_session.events.register("creating-client-class.sqs", add_marker)
    hooked = hooked_session.client("sqs", region_name=REGION)
    assert type(hooked) is not type(plain)
    assert hooked.speed_up_marker() == "marked"  # type: ignore[attr-defined]
    assert not hasattr(plain, "speed_up_marker")
    assert type(boto3.session.Session().client("sqs", region_name=REGION)) is type(plain)


def test_boto3s_per_session_s3_hooks_still_give_s3_clients_their_transfer_methods(mocked: None) -> None:
    clients = [boto3.session.Session().client("s3", region_name=REGION) for _ in range(2)]
    assert type(clients[0]) is type(clients[1])
    assert all(callable(getattr(c, "upload_file", None)) for c in clients)


@pytest.mark.parametrize("response_class", [EC2Response, DynamoHandler])
def test_moto_sees_the_same_methods_listed_once(response_class: type) -> None:
    once = moto_dispatch._method_names(response_class)
    assert once == frozenset(method_names_from_class(response_class))
    assert moto_dispatch._method_names(response_class) is once


def test_moto_still_answers_known_actions_and_refuses_those_it_has_no_handler_for(mocked: None) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    assert ec2.describe_vpcs()["Vpcs"]
    handled = moto_dispatch._method_names(EC2Response)
    unhandled = next(
        name
        for name in map(camelcase_to_underscores, ec2.meta.service_model.operation_names)
        if name.startswith("describe_") and name not in handled
    )
    with pytest.raises(NotImplementedError, match=f"{unhandled} action has not been implemented"):
        getattr(ec2, unhandled)()


def test_clients_share_event_name_answers_and_an_other_alias_table_keeps_its_own(mocked: None) -> None:
    first = boto3.session.Session().client("sqs", region_name=REGION)
    second = boto3.session.Session().client("sqs", region_name=REGION)
    first.list_queues()
    assert first.meta.events._alias_name_cache is second.meta.events._alias_name_cache
    assert second.meta.events._alias_name_cache["before-call.sqs.ListQueues"] == "before-call.sqs.ListQueues"
    renamed = botocore.hooks.EventAliaser(botocore.hooks.HierarchicalEmitter(), {"sqs": "queues"})
    assert renamed._alias_name_cache is not first.meta.events._alias_name_cache
    assert renamed._alias_name_cache.get("before-call.sqs.ListQueues") is None
    calls: list[str] = []
    renamed.register("before-call.queues.ListQueues", lambda **_: calls.append("renamed"))
    renamed.emit("before-call.sqs.ListQueues")
    assert calls == ["renamed"], "a table of its own still renames as botocore does"


# --- DynamoDB attribute values written directly ------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8"), max_size=6)
_PLAIN_VALUES = st.one_of(
    st.builds(lambda v: {"S": v}, _TEXT),
    st.builds(lambda v: {"N": v}, st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{1,3})?", fullmatch=True)),
    st.builds(lambda v: {"BOOL": v}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda v: {"SS": v}, st.lists(_TEXT, max_size=3)),
    st.builds(lambda v: {"NS": v}, st.lists(st.from_regex(r"[0-9]{1,4}", fullmatch=True), max_size=3)),
    st.builds(lambda b, v: {"BOOL": b, "S": v}, st.booleans(), _TEXT),  # two members, not in the shape's order
)
_ODD_VALUES = st.one_of(
    st.builds(lambda v: {"B": v}, st.binary(max_size=6)),
    st.builds(lambda v: {"BS": v}, st.lists(st.binary(max_size=4), max_size=2)),
    st.builds(lambda v: {"s": v}, _TEXT),  # an alias the generic serializer may match
    st.builds(lambda v: {"S": v}, st.integers()),  # a value not of its wire type
    st.just({"S": None}),
    st.just({}),
    st.none(),
)
_ATTRIBUTE_VALUES = st.recursive(
    st.one_of(_PLAIN_VALUES, _ODD_VALUES),
    lambda inner: st.one_of(
        st.builds(lambda v: {"M": v}, st.dictionaries(st.text(max_size=4), st.one_of(inner, st.none()), max_size=3)),
        st.builds(lambda v: {"L": v}, st.lists(st.one_of(inner, st.none()), max_size=3)),
    ),
    max_leaves=8,
)


def _dynamodb_body(operation: str, result: dict[str, Any]) -> str:
    """The response body moto writes for ``result`` of ``operation``, as its responses build it."""
    service_model = get_service_model("dynamodb")
    serializer = get_serializer_class("dynamodb", service_model.protocol)(
        operation_model=service_model.operation_model(operation),
        pretty_print=False,
        value_picker=XFormedAttributePicker(),
    )
    return serializer.serialize(result)["body"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item=st.dictionaries(st.text(min_size=1, max_size=5), _ATTRIBUTE_VALUES, max_size=6))
def test_dynamodb_attribute_values_are_written_as_moto_writes_them(item: dict[str, Any]) -> None:
    """The same bytes as moto's generic serializer for any item, in a single item and in a list of items;
    a value that is not plain DynamoDB JSON (binary, an alias key, a wrong type) takes the generic path."""
    results = {"GetItem": {"Item": item}, "Query": {"Items": [item, item], "Count": 2, "ScannedCount": 2}}
    direct = {operation: _dynamodb_body(operation, result) for operation, result in results.items()}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseJSONSerializer, "_serialize_type_structure", moto_dynamodb_items.generic_structure)
        generic = {operation: _dynamodb_body(operation, result) for operation, result in results.items()}
    assert direct == generic


def test_items_read_back_through_moto_are_the_items_written(mocked: None) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {
        "pk": {"S": "action#1"},
        "count": {"N": "3"},
        "done": {"BOOL": False},
        "gone": {"NULL": True},
        "names": {"SS": ["a", "b"]},
        "blob": {"B": b"\x00\xff"},
        "nested": {"M": {"list": {"L": [{"S": "x"}, {"N": "1.5"}, {"M": {}}]}, "empty": {"L": []}}},
    }
    client.put_item(TableName="items", Item=item)
    assert client.get_item(TableName="items", Key={"pk": {"S": "action#1"}})["Item"] == item
    assert json.loads(_dynamodb_body("GetItem", {"Item": {"pk": {"S": "x"}}})) == {"Item": {"pk": {"S": "x"}}}


def _built(init: Any, attrs: dict[str, Any]) -> tuple[str, Any]:
    """What building an item with ``init`` gives: its attributes in order, or the error it raised."""
    item = Item.__new__(Item)
    try:
        init(item, DynamoType(attrs["pk"]), None, attrs)
    except ItemSizeTooLarge as error:
        return "refused", type(error)
    return "built", [(key, value.type, value.value) for key, value in item.attrs.items()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lengths=st.lists(st.integers(0, 140_000), min_size=1, max_size=6),
    padding=st.integers(0, 40),
    number=st.integers(),
)
def test_items_are_built_and_refused_where_moto_builds_and_refuses_them(
    lengths: list[int], padding: int, number: int
) -> None:
    attrs: dict[str, Any] = {"pk": {"S": "action#1"}, "count": {"N": str(number)}}
    for index, length in enumerate(lengths):
        attrs[f"text_{index}_{'x' * padding}"] = {"S": "é" * (length // 2) + "a" * (length % 2)}
    attrs["nested"] = {"M": {"list": {"L": [{"S": "x" * padding}, {"BOOL": True}]}}}
    assert _built(moto_dynamodb_items.build_item, attrs) == _built(moto_dynamodb_items.original_item_init, attrs)


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_the_size_limit_is_moto_s_to_the_byte(extra: int) -> None:
    attrs = {"pk": {"S": "a"}, "big": {"S": ""}}
    overhead = len("pk") + 1 + len("big")
    attrs["big"]["S"] = "a" * (moto_dynamodb_items.ITEM_SIZE_LIMIT - overhead + extra)
    outcome = _built(moto_dynamodb_items.build_item, attrs)
    assert outcome == _built(moto_dynamodb_items.original_item_init, attrs)
    assert outcome[0] == ("refused" if extra > 0 else "built")


# --- moto's candidate names, remembered ----------------------------------------------------------------------


def _build_world() -> None:
    """A small data plane in moto: instances of a group with a lifecycle hook, a load balancer and its
    target group, subnets and a launch template."""
    ec2 = boto3.client("ec2", region_name=REGION)
    autoscaling = boto3.client("autoscaling", region_name=REGION)
    elbv2 = boto3.client("elbv2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"]
        for i, zone in enumerate("ab")
    ]
    subnets = [subnet["SubnetId"] for subnet in subnets]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_launch_template(
        LaunchTemplateName="data-plane",
        LaunchTemplateData={
            "ImageId": image,
            "InstanceType": "t3.large",
            "MetadataOptions": {"HttpTokens": "required"},
        },
    )
    # An instance without tags: moto's EC2 transformer for Instances.Instance.Tags leaves its Tags out.
    ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1)
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="data-plane",
        LaunchTemplate={"LaunchTemplateName": "data-plane"},
        MinSize=1,
        MaxSize=1,
        VPCZoneIdentifier=",".join(subnets),
        Tags=[{"Key": "Name", "Value": "data-plane", "PropagateAtLaunch": True}],
    )
    autoscaling.put_lifecycle_hook(
        AutoScalingGroupName="data-plane",
        LifecycleHookName="drain",
        LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
        HeartbeatTimeout=300,
    )
    balancer = elbv2.create_load_balancer(Name="data-plane", Subnets=subnets)["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="data-plane", Protocol="HTTP", Port=8080, VpcId=vpc)["TargetGroups"][0]
    elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )


def _world_answers() -> dict[str, Any]:
    """What moto answers about the world of :func:`_build_world`."""
    ec2 = boto3.client("ec2", region_name=REGION)
    autoscaling = boto3.client("autoscaling", region_name=REGION)
    elbv2 = boto3.client("elbv2", region_name=REGION)
    answers = {
        "instances": ec2.describe_instances(),
        "groups": autoscaling.describe_auto_scaling_groups(),
        "hooks": autoscaling.describe_lifecycle_hooks(AutoScalingGroupName="data-plane"),
        "balancers": elbv2.describe_load_balancers(),
        "target groups": elbv2.describe_target_groups(),
        "subnets": ec2.describe_subnets(),
        "template": ec2.describe_launch_template_versions(LaunchTemplateName="data-plane"),
    }
    for answer in answers.values():
        answer.pop("ResponseMetadata")
    return answers


def test_moto_answers_the_same_with_remembered_candidate_names(aws_credentials: None) -> None:
    with mock_aws():
        _build_world()
        _world_answers()  # every member's names remembered: the next answers are picked directly
        remembered = _world_answers()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(XFormedAttributePicker, "get_possible_keys", moto_attribute_names.original_possible_keys)
            patch.setattr(ResponseSerializer, "get_value", moto_attribute_names.original_get_value)
            worked_out = _world_answers()
    assert remembered["instances"]["Reservations"], "moto described no instance"
    assert remembered == worked_out


@pytest.mark.parametrize(
    ("table", "key", "may"),
    [
        ({"Instances.Instance.Tags": None}, "Tags", True),
        ({"Instances.Instance.Tags": None}, "Tag", False),
        ({"Instances.Instance.Tags": None}, "MyTags", False),
        ({"Tags": None}, "MyTags", True),  # moto matches the joined path's end as a string
        ({"Instance.Tags": None, "Image.CreationDate": None}, "CreationDate", True),
        ({}, "Tags", False),
    ],
)
def test_a_member_is_picked_directly_only_where_no_transformer_can_reach_it(
    table: dict[str, Any], key: str, may: bool
) -> None:
    assert moto_attribute_names._may_be_transformed(table, key) is may
    table["Anything." + key] = None  # the table grew: worked out again
    assert moto_attribute_names._may_be_transformed(table, key) is True


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=30), allow_hash=st.booleans())
def test_user_agent_components_are_cleaned_as_botocore_cleans_them(text: str, allow_hash: bool) -> None:
    first = botocore_user_agent._remembered_sanitize(text, allow_hash)
    assert first == botocore_user_agent.original_sanitize(text, allow_hash)
    assert botocore_user_agent._remembered_sanitize(text, allow_hash) == first  # remembered


def test_a_request_carries_the_user_agent_botocore_builds(mocked: None) -> None:
    seen: list[bytes] = []
    client = boto3.session.Session().client("sqs", region_name=REGION)
    client.meta.events.register("before-send", lambda request, **_: seen.append(request.headers["User-Agent"]))
    client.list_queues()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.useragent, "sanitize_user_agent_string_component", botocore_user_agent.original_sanitize)
        client.list_queues()
    assert len(seen) == 2 and seen[0] == seen[1]
    assert seen[0].startswith(b"Boto3/")
