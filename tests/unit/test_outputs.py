"""The stack outputs contract: what the program exports is exactly what `StackOutputs` reads back."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest

from stacks.outputs import OutputsError, StackOutputs, wire_name
from tests.harness import plan_stack
from tests.outputs_sample import prod_outputs


def test_round_trip() -> None:
    sample = prod_outputs()
    assert StackOutputs.from_dict(sample.to_dict()) == sample


def test_wire_names_are_camel_case() -> None:
    assert wire_name("auth_secret_name") == "authSecretName"
    assert wire_name("environment") == "environment"
    data = prod_outputs().to_dict()
    assert set(data["nats"]) == {"clientUrl", "authSecretName", "namespace", "service", "replicas", "maxPayload",
                                 "verifySecretName"}
    assert data["etcd"]["members"] == ["etcd-0", "etcd-1", "etcd-2"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_what_the_program_exports_parses(stack: str) -> None:
    outputs = StackOutputs.from_dict(plan_stack(stack).stack_outputs)
    assert outputs.environment == stack
    assert outputs.nats is not None
    assert outputs.nats.auth_secret_name == "nats-auth"
    assert outputs.nats.service == "nats"
    assert (outputs.dynamo.version, outputs.dynamo.event_plane) == ("1.4.2", "nats")
    assert set(outputs.node_pools) == ({"cpu"} if stack == "dev" else {"h100-efa", "h200-efa"})


def test_a_renamed_key_is_refused_with_its_name() -> None:
    data = prod_outputs().to_dict()
    data["nats"]["authSecret"] = data["nats"].pop("authSecretName")
    with pytest.raises(OutputsError, match=r"^nats\.authSecret: unknown key; expected authSecretName, clientUrl"):
        StackOutputs.from_dict(data)
    del data["nats"]["authSecret"]
    with pytest.raises(OutputsError, match=r"^nats\.authSecretName: missing$"):
        StackOutputs.from_dict(data)


def test_wrong_types_are_refused_with_the_key() -> None:
    data = copy.deepcopy(prod_outputs().to_dict())
    data["etcd"]["replicas"] = "3"
    with pytest.raises(OutputsError, match=r"^etcd\.replicas: expected an integer, got a string$"):
        StackOutputs.from_dict(data)
    data = prod_outputs().to_dict()
    data["nodePools"]["h100-efa"]["nodeSelector"] = ["x"]
    with pytest.raises(OutputsError, match=r"^nodePools\.h100-efa\.nodeSelector: expected an object, got a list$"):
        StackOutputs.from_dict(data)


def test_observability_is_left_out_when_off_and_etcd_is_null() -> None:
    off = replace(prod_outputs(), observability=None, etcd=None)
    data = off.to_dict()
    assert "observability" not in data
    assert data["etcd"] is None
    assert StackOutputs.from_dict(data) == off
