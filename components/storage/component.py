"""Shared model storage in the workload namespace: the ReadWriteMany model cache every graph mounts
(on an existing StorageClass, or on an FSx for Lustre or EFS file system this component creates), the
Hugging Face token Secret graphs read with `envFromSecret`, and one download Job per model the
graphs need in the cache (`components.storage.downloads`), so weights are downloaded once per
cluster, not once per pod."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, assert_never

import pulumi

from components.kit.aws import (
    EFS_FILE_SYSTEM,
    EFS_MOUNT_TARGET,
    EKS_ADDON,
    FSX_DATA_REPOSITORY_ASSOCIATION,
    FSX_LUSTRE_FILE_SYSTEM,
    IAM_ROLE,
    IAM_ROLE_POLICY_ATTACHMENT,
    SECURITY_GROUP,
)
from components.register.aws import AwsResource
from components.register.kube import KubeObject
from components.storage import efs, lustre
from components.storage.cache import (
    HF_TOKEN_KEY,
    Efs,
    ExistingClass,
    FsxLustre,
    ModelCacheSettings,
    hf_token_secret,
    model_cache_claim,
)
from components.storage.csi import CsiDriverSettings, addon_props, controller_role_props, policy_arn
from components.storage.downloads import DownloadPlan, download_job, download_network_policy, script_configmap

LUSTRE_TYPE = "dynamo-cluster:components:LustreCache"
EFS_TYPE = "dynamo-cluster:components:EfsCache"


def _addon(name: str, csi: CsiDriverSettings, parent: pulumi.Resource, *, retain: bool,
           cache: str) -> AwsResource | None:
    """The CSI driver's EKS add-on (with its controller's IAM role when the driver needs one), or None
    when the cluster has the driver already."""
    if not csi.install:
        return None
    child = pulumi.ResourceOptions(parent=parent)
    role_arn: pulumi.Output[Any] | None = None
    attachments: list[pulumi.Resource] = []
    arn = policy_arn(csi)
    if arn is not None:
        role = AwsResource(IAM_ROLE, f"{name}-csi-role", controller_role_props(csi, cache), child,
                           outputs=("arn", "name"))
        attachments.append(AwsResource(IAM_ROLE_POLICY_ATTACHMENT, f"{name}-csi-policy",
                                       {"role": role.id, "policyArn": arn}, child, outputs=()))
        role_arn = role.output("arn")
    return AwsResource(EKS_ADDON, f"{name}-csi-driver", addon_props(csi, preserve=retain, role_arn=role_arn),
                       pulumi.ResourceOptions(parent=parent, depends_on=attachments), outputs=("arn",))


class LustreCache(pulumi.ComponentResource):
    """An FSx for Lustre file system and the PersistentVolume `volume_name` (reserved for the claim
    `claim_name` in `namespace`) through which pods mount it."""

    file_system_id: pulumi.Output[str]
    volume_name: pulumi.Output[str]

    def __init__(self, name: str, settings: lustre.LustreSettings, csi: CsiDriverSettings, *, pv_name: str,
                 claim_name: str, namespace: str, retain: bool, opts: pulumi.ResourceOptions) -> None:
        super().__init__(LUSTRE_TYPE, name, None, opts)
        keep = pulumi.ResourceOptions(parent=self, retain_on_delete=retain)
        group = AwsResource(SECURITY_GROUP, f"{name}-sg", lustre.security_group_props(settings), keep,
                            outputs=("arn", "name"))
        fs = AwsResource(FSX_LUSTRE_FILE_SYSTEM, f"{name}-fs", lustre.file_system_props(settings, group.id), keep,
                         outputs=("arn", "dnsName", "mountName"))
        if settings.s3 is not None:
            AwsResource(FSX_DATA_REPOSITORY_ASSOCIATION, f"{name}-s3",
                        lustre.data_repository_association_props(settings, fs.id), keep,
                        outputs=("arn", "associationId"))
        addon = _addon(name, csi, self, retain=retain, cache=settings.name)
        volume = KubeObject(f"{name}-pv", lustre.persistent_volume(
            pv_name, claim_name, namespace, settings, file_system_id=fs.id, dns_name=fs.output("dnsName"),
            mount_name=fs.output("mountName")),
            pulumi.ResourceOptions(parent=self, retain_on_delete=retain, depends_on=[addon] if addon else []))
        self.file_system_id = fs.id
        self.volume_name = volume.name
        self.register_outputs({"fileSystemId": self.file_system_id, "volumeName": self.volume_name})


class EfsCache(pulumi.ComponentResource):
    """An EFS file system with a mount target in each subnet, and the StorageClass `storage_class`
    that provisions access points on it."""

    file_system_id: pulumi.Output[str]
    storage_class: pulumi.Output[str]

    def __init__(self, name: str, settings: efs.EfsSettings, csi: CsiDriverSettings, *, stack: str, retain: bool,
                 opts: pulumi.ResourceOptions) -> None:
        super().__init__(EFS_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = AwsResource(SECURITY_GROUP, f"{name}-sg", efs.security_group_props(settings), child,
                            outputs=("arn", "name"))
        fs = AwsResource(EFS_FILE_SYSTEM, f"{name}-fs", efs.file_system_props(settings, stack),
                         pulumi.ResourceOptions(parent=self, retain_on_delete=retain), outputs=("arn", "dnsName"))
        targets = [AwsResource(EFS_MOUNT_TARGET, f"{name}-mount-{subnet}",
                               efs.mount_target_props(fs.id, subnet, group.id), child, outputs=())
                   for subnet in settings.subnet_ids]
        addon = _addon(name, csi, self, retain=retain, cache=settings.name)
        needs: list[pulumi.Resource] = [*targets, *([addon] if addon else [])]
        storage_class = KubeObject(f"{name}-storage-class", efs.storage_class(settings, fs.id, retain=retain),
                                   pulumi.ResourceOptions(parent=self, retain_on_delete=retain, depends_on=needs))
        self.file_system_id = fs.id
        self.storage_class = storage_class.name
        self.register_outputs({"fileSystemId": self.file_system_id, "storageClass": self.storage_class})


TYPE = "dynamo-cluster:components:ModelStorage"
SCRIPT_CONFIGMAP = "model-download-script"
DOWNLOAD_POLICY = "model-downloads"


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
        match cache.store:
            case ExistingClass():
                claim = model_cache_claim(cache, namespace)
            case FsxLustre(lustre=settings, csi=csi, volume_name=volume_name):
                lustre = LustreCache(f"{name}-fsx", settings, csi, pv_name=volume_name, claim_name=cache.claim_name,
                                     namespace=namespace_name, retain=cache.retain, opts=child)
                self.file_system = lustre
                claim = model_cache_claim(cache, namespace, volume_name=lustre.volume_name)
            case Efs(efs=settings, csi=csi):
                efs = EfsCache(f"{name}-efs", settings, csi, stack=stack, retain=cache.retain, opts=child)
                self.file_system = efs
                claim = model_cache_claim(cache, namespace, storage_class=efs.storage_class)
            case _:
                assert_never(cache.store)
        return KubeObject(f"{name}-cache", claim, keep).name

    def _downloads(self, name: str, cache: ModelCacheSettings, namespace: pulumi.Input[str],
                   plans: Sequence[DownloadPlan]) -> None:
        assert self.claim_name is not None
        script = KubeObject(f"{name}-download-script", script_configmap(SCRIPT_CONFIGMAP, namespace),
                            pulumi.ResourceOptions(parent=self))
        timeout = f"{cache.download.timeout_minutes + 10}m"
        policy = KubeObject(f"{name}-download-netpol", download_network_policy(DOWNLOAD_POLICY, namespace),
                            pulumi.ResourceOptions(parent=self))
        # An EFS access point makes every client its own POSIX user: nothing to hand over there.
        own_dirs = not isinstance(cache.store, Efs)
        for plan in plans:
            manifest = download_job(plan, cache.download, namespace=namespace, claim=self.claim_name,
                                    mount_path=cache.mount_path, script_configmap_name=script.name,
                                    token_secret=self.hf_token_secret, token_key=HF_TOKEN_KEY, own_dirs=own_dirs)
            # Pulumi waits for the Job to complete (the download) for as long as the Job may run.
            job = KubeObject(f"{name}-download-{plan.ref.digest}", manifest, pulumi.ResourceOptions(
                parent=self, depends_on=[policy],
                custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)))
            self.downloads[plan.ref.digest] = job.name
