"""Shared model storage in the workload namespace: a ReadWriteMany model cache that every worker
mounts (weights are downloaded once per cluster, not once per pod), and the Hugging Face token
Secret graphs read with `envFromSecret`."""

from __future__ import annotations

import pulumi

from components.dynamo.model_cache import ModelCacheSettings, hf_token_secret, model_cache_claim
from components.kit.kube import KubeObject

TYPE = "dynamo-cluster:components:ModelStorage"


class ModelStorage(pulumi.ComponentResource):
    """Outputs `claim_name` (None when the cache is off) and `hf_token_secret` (None without a
    token); both carry the dependency on the object they name."""

    claim_name: pulumi.Output[str] | None
    hf_token_secret: pulumi.Output[str] | None

    def __init__(self, name: str, *, namespace: pulumi.Input[str], cache: ModelCacheSettings | None,
                 hf_token: pulumi.Output[str] | None, hf_secret_name: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__(TYPE, name, None, opts)
        self.claim_name = None
        self.hf_token_secret = None
        if cache is not None:
            keep = pulumi.ResourceOptions(parent=self, retain_on_delete=cache.retain)
            self.claim_name = KubeObject(f"{name}-cache", model_cache_claim(cache, namespace), keep).name
        if hf_token is not None:
            self.hf_token_secret = KubeObject(f"{name}-hf-token", hf_token_secret(hf_secret_name, namespace, hf_token),
                                              pulumi.ResourceOptions(parent=self)).name
        self.register_outputs({"claimName": self.claim_name, "hfTokenSecret": self.hf_token_secret})
