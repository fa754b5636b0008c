"""The shared model cache and the Hugging Face token Secret, as settings and manifests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.kit.kube import labels
from components.kit.resources import Storage

HF_TOKEN_KEY = "HF_TOKEN"


@dataclass(frozen=True)
class ModelCacheSettings:
    claim_name: str
    storage: Storage
    mount_path: str
    retain: bool          # keep the volume on destroy and replacement (prod without allowDataLoss)


def model_cache_claim(settings: ModelCacheSettings, namespace: pulumi.Input[str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": settings.claim_name, "namespace": namespace,
                     "labels": labels(settings.claim_name, "model-cache")},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": settings.storage.storage_class,
                 "resources": {"requests": {"storage": settings.storage.size}}},
    }


def hf_token_secret(name: str, namespace: pulumi.Input[str], token: pulumi.Output[str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(name, "hf-token")},
            "stringData": {HF_TOKEN_KEY: token}}
