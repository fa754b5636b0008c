"""Shared model storage in the workload namespace: the ReadWriteMany model cache every graph mounts
(on an existing StorageClass, or on an FSx for Lustre or EFS file system this component creates), the
Hugging Face token Secret graphs read with `envFromSecret`, and one download Job per model the
graphs need in the cache (`components.dynamo.model_download`), so weights are downloaded once per
cluster, not once per pod."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.dynamo.model_cache import HF_TOKEN_KEY, ModelCacheSettings, hf_token_secret, model_cache_claim
from components.dynamo.model_download import DownloadPlan, download_job, script_configmap
from components.kit.kube import KubeObject
from components.storage.filesystems import EfsCache, LustreCache

TYPE = "dynamo-cluster:components:ModelStorage"
SCRIPT_CONFIGMAP = "model-download-script"


class ModelStorage(pulumi.ComponentResource):
    """Outputs `claim_name` (None when the cache is off) and `hf_token_secret` (None without a
    token); both carry the dependency on the object they name. `downloads`: the download Jobs' names
    by model digest. `namespace_name` is the workload namespace's name as config gives it (a
    PersistentVolume's claim reference names it). AWS resources use the ``aws`` provider of `opts`."""

    claim_name: pulumi.Output[str] | None
    hf_token_secret: pulumi.Output[str] | None
    downloads: dict[str, pulumi.Output[str]]
    file_system: LustreCache | EfsCache | None

    def __init__(self, name: str, *, namespace: pulumi.Input[str], cache: ModelCacheSettings | None,
                 hf_token: pulumi.Output[str] | None, hf_secret_name: str, opts: pulumi.ResourceOptions,
                 namespace_name: str = "", stack: str = "", plans: Sequence[DownloadPlan] = ()) -> None:
        super().__init__(TYPE, name, None, opts)
        self.claim_name = None
        self.hf_token_secret = None
        self.downloads = {}
        self.file_system = None
        if hf_token is not None:
            self.hf_token_secret = KubeObject(f"{name}-hf-token", hf_token_secret(hf_secret_name, namespace, hf_token),
                                              pulumi.ResourceOptions(parent=self)).name
        if cache is not None:
            self.claim_name = self._cache(name, cache, namespace, namespace_name, stack)
            if cache.download.enabled and plans:
                self._downloads(name, cache, namespace, plans)
        self.register_outputs({"claimName": self.claim_name, "hfTokenSecret": self.hf_token_secret,
                               "downloads": self.downloads})

    def _cache(self, name: str, cache: ModelCacheSettings, namespace: pulumi.Input[str], namespace_name: str,
               stack: str) -> pulumi.Output[str]:
        keep = pulumi.ResourceOptions(parent=self, retain_on_delete=cache.retain)
        child = pulumi.ResourceOptions(parent=self)
        claim = model_cache_claim(cache, namespace)
        if cache.lustre is not None and cache.csi is not None:
            lustre = LustreCache(f"{name}-fsx", cache.lustre, cache.csi, pv_name=cache.volume_name,
                                 claim_name=cache.claim_name, namespace=namespace_name, retain=cache.retain, opts=child)
            self.file_system = lustre
            claim = model_cache_claim(cache, namespace, volume_name=lustre.volume_name)
        elif cache.efs is not None and cache.csi is not None:
            efs = EfsCache(f"{name}-efs", cache.efs, cache.csi, stack=stack, retain=cache.retain, opts=child)
            self.file_system = efs
            claim = model_cache_claim(cache, namespace, storage_class=efs.storage_class)
        return KubeObject(f"{name}-cache", claim, keep).name

    def _downloads(self, name: str, cache: ModelCacheSettings, namespace: pulumi.Input[str],
                   plans: Sequence[DownloadPlan]) -> None:
        assert self.claim_name is not None
        script = KubeObject(f"{name}-download-script", script_configmap(SCRIPT_CONFIGMAP, namespace),
                            pulumi.ResourceOptions(parent=self))
        timeout = f"{cache.download.timeout_minutes + 10}m"
        for plan in plans:
            manifest = download_job(plan, cache.download, namespace=namespace, claim=self.claim_name,
                                    mount_path=cache.mount_path, script_configmap_name=script.name,
                                    token_secret=self.hf_token_secret, token_key=HF_TOKEN_KEY)
            # Pulumi waits for the Job to complete (the download) for as long as the Job may run.
            job = KubeObject(f"{name}-download-{plan.ref.digest}", manifest, pulumi.ResourceOptions(
                parent=self, custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)))
            self.downloads[plan.ref.digest] = job.name
