"""The speed-ups of the AWS emulation change nothing a test observes: each is installed in every test
process (``tests/conftest.py``), shares only what botocore or moto would have built the same way again,
and keeps apart what differs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.client
import botocore.session
import moto.core.responses
import pytest
from moto import mock_aws
from moto.core.utils import camelcase_to_underscores, method_names_from_class
from moto.dynamodb.responses import DynamoHandler
from moto.ec2.responses import EC2Response

from tests.support.aws_emulation import botocore_client_classes, botocore_models, moto_dispatch, moto_images

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
