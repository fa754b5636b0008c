"""The ``modelCache`` keys (the shared model cache, its storage, CSI driver and download Jobs) and
the Hugging Face token the downloads and graphs read."""

from __future__ import annotations

from typing import Any

from components.storage import csi, efs, lustre
from components.storage.cache import CACHE_KINDS
from components.storage.downloads import DEFAULT_IMAGE
from stacks.config.keys.common import resources, storage
from stacks.config.limits import MOUNT_PATH_TEXT
from stacks.config.schema import Derived, Fixed, Flag, Free, Integer, Key, Label, StringList, Text, Unset, Word

S3_PREFIX = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$"
SUBNET = r"^subnet-[0-9a-f]{8,17}$"
IMAGE_TEXT = "an image pinned by tag or digest (registry/repository:tag), never :latest"
CSI_DEFAULTS = "; ".join(f"`{kind}`: `{driver.version}`" for kind, driver in csi.DRIVERS.items())

HF_TOKEN = Key(
    "hfToken",
    Free("string"),
    Unset(),
    "`pulumi config set --secret dynamo-cluster:hfToken hf_...`",
    "Hugging Face token, stored as Secret `hf-token` (key `HF_TOKEN`) in the workload namespace; "
    "graphs read it with `envFromSecret`, download Jobs with `secretKeyRef`. Needed for gated models "
    "(Llama).",
    secret=True,
)
ENABLED = Key(
    "modelCache.enabled",
    Flag(),
    Fixed(False),
    "`true`",
    "A shared ReadWriteMany volume every graph mounts, filled by one download Job per model.",
)
KIND = Key(
    "modelCache.kind",
    Word(CACHE_KINDS),
    Fixed("existing"),
    "`fsx-lustre`",
    "The storage (see above). A key of another kind's section (`fsx`, `efs`, `csiDriver` with "
    "`existing`) is a problem.",
)
MOUNT_PATH = Key(
    "modelCache.mountPath",
    Text("absolute path, no `..`, not `/` or `/dev/shm`", r"^/[A-Za-z0-9_./-]*$", MOUNT_PATH_TEXT),
    Fixed("/models"),
    "`/cache`",
    "Where pods mount it; `HF_HOME` points there.",
)
CLAIM_NAME = Key(
    "modelCache.claimName",
    Label(),
    Fixed("model-cache"),
    "`weights`",
    "Name of the PersistentVolumeClaim (and of the file system's tags and the EFS StorageClass, "
    "`<claimName>-efs`; the FSx PersistentVolume is `<workloads namespace>-<claimName>`). Kept on "
    "destroy in prod unless `allowDataLoss`.",
)
FSX_POOL = Key(
    "modelCache.fsx.pool",
    Text("pool name"),
    Unset("the first EFA pool, else the first eks pool"),
    "`h100-efa`",
    "The eks pool (with one subnet) whose subnet and zone the file system goes into. Changing it "
    "replaces the file system (an empty cache).",
)
FSX_DEPLOYMENT_TYPE = Key(
    "modelCache.fsx.deploymentType",
    Word(lustre.DEPLOYMENT_TYPES),
    Fixed("PERSISTENT_2"),
    "`SCRATCH_2`",
    "FSx for Lustre deployment type (SSD storage).",
)
FSX_CAPACITY = Key(
    "modelCache.fsx.storageCapacityGiB",
    Integer(1200, 1_000_000, described="integer: 1200, 2400 or a multiple of 2400"),
    Fixed(2400),
    "`4800`",
    "Capacity of the file system (FSx API, CreateFileSystem StorageCapacity). Grows in place; "
    "preflight compares it with the models' sizes.",
)
FSX_THROUGHPUT = Key(
    "modelCache.fsx.throughputPerTiB",
    Integer(1),
    Derived("`PERSISTENT_2`: `250`; `PERSISTENT_1`: `200`; `SCRATCH_2`: unset"),
    "`500`",
    "Throughput per TiB in MB/s: `PERSISTENT_2` 125, 250, 500 or 1000; `PERSISTENT_1` 50, 100 or 200;"
    " none for `SCRATCH_2`. The file system delivers capacity (TiB) x this.",
)
FSX_LUSTRE_VERSION = Key(
    "modelCache.fsx.lustreVersion",
    Word(lustre.LUSTRE_VERSIONS),
    Fixed("2.15"),
    "`2.12`",
    "Lustre version of the file system.",
)
FSX_S3_REPOSITORY = Key(
    "modelCache.fsx.s3.repositoryPath",
    Text("`s3://bucket/prefix/`", S3_PREFIX, "an S3 prefix such as s3://bucket/models/"),
    Unset(),
    "`s3://my-models/weights/`",
    "`PERSISTENT_2` only: link this S3 prefix to `fsx.s3.fileSystemPath` (a data repository "
    "association): listings are imported and kept current, contents load on first read, nothing is "
    "exported. A graph can then name a model by its path there (`/models/s3/<dir>`), and no Job "
    "downloads it.",
)
FSX_S3_PATH = Key(
    "modelCache.fsx.s3.fileSystemPath",
    Text("path", r"^/[A-Za-z0-9_.\-/]*$", "an absolute path in the file system"),
    Fixed("/s3"),
    "`/weights`",
    "Where the S3 prefix appears in the file system (not `/`, `/hub` or `/dynamo-cluster`, where the Jobs write).",
)
EFS_SUBNETS = Key(
    "modelCache.efs.subnetIds",
    StringList("list of subnet ids"),
    Derived("the subnets of the eks pools"),
    "`[subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002]`",
    "One mount target each, one per availability zone (EFS takes one per zone); cover every zone "
    "where pods mount the cache, the download Job's nodes (untainted ones) included.",
)
EFS_THROUGHPUT_MODE = Key(
    "modelCache.efs.throughputMode",
    Word(efs.THROUGHPUT_MODES),
    Fixed("elastic"),
    "`bursting`",
    "EFS throughput mode; elastic follows the load instead of spending burst credits.",
)
CSI_INSTALL = Key(
    "modelCache.csiDriver.install",
    Flag(),
    Fixed(True),
    "`false`",
    "`fsx-lustre`, `efs`: install the CSI driver as an EKS add-on. `false`: the cluster has it "
    "already (preflight checks it is registered and healthy).",
)
CSI_VERSION = Key(
    "modelCache.csiDriver.version",
    Text(
        "EKS add-on version",
        r"^v[0-9]+\.[0-9]+\.[0-9]+-eksbuild\.[0-9]+$",
        "an EKS add-on version such as v1.7.0-eksbuild.1",
    ),
    Unset(CSI_DEFAULTS),
    "`v1.8.0-eksbuild.1`",
    "The add-on version; `preflight --aws` checks EKS offers it for `kubernetes.version`.",
)
DOWNLOAD_ENABLED = Key(
    "modelCache.download.enabled",
    Flag(),
    Fixed(True),
    "`false`",
    "Download each model with one Job and make pods wait for it. `false`: no Jobs, no init "
    "containers; each worker downloads into the cache itself (the old behaviour).",
)
DOWNLOAD_IMAGE = Key(
    "modelCache.download.image",
    Text("image reference", r"^[a-z0-9.\-/:_]+(:[A-Za-z0-9_.\-]+|@sha256:[a-f0-9]{64})$", IMAGE_TEXT),
    Fixed(DEFAULT_IMAGE),
    "`registry.example.com/python:3.12-slim`",
    "The image the download script runs in (any with Python 3.10 or later; the script uses the "
    "standard library only). Pinned by tag or digest.",
)
DOWNLOAD_TIMEOUT = Key(
    "modelCache.download.timeoutMinutes",
    Integer(10, 2880),
    Fixed(240),
    "`180`",
    "The Job's `activeDeadlineSeconds`, how long `pulumi up` waits for it, and how long pods wait for"
    " the model. Graphs that wait for a download wait this much longer by default "
    "(`graphs[].readyTimeoutMinutes`); the plan warns when one is set below it.",
)
DOWNLOAD_BACKOFF = Key(
    "modelCache.download.backoffLimit",
    Integer(0, 30),
    Fixed(6),
    "`10`",
    "Pod retries of a failed download; each resumes where the last stopped. A new pod starts only "
    "once the last is gone (`podReplacementPolicy: Failed`).",
)
DOWNLOAD_WORKERS = Key(
    "modelCache.download.workers", Integer(1, 64), Fixed(8), "`16`", "Files one Job downloads at a time."
)
DOWNLOAD_EXCLUDE = Key(
    "modelCache.download.exclude",
    StringList("list of globs"),
    Fixed([]),
    '`["original/*", "*.pth"]`',
    "Repository files not to download (for example Meta's consolidated checkpoint next to the safetensors shards).",
)

STORAGE = storage(
    "modelCache.storage",
    size=Fixed("200Gi"),
    minimum="1Gi",
    storage_class=Derived("`existing`: required; other kinds: must stay unset"),
    examples=("`efs-sc`", "`2Ti`"),
    docs=(
        "`existing`: a StorageClass with ReadWriteMany volumes. `python -m stacks preflight` checks it exists and "
        "that its provisioner provides ReadWriteMany.",
        "What the claim asks (`existing`, `efs`: EFS grows by itself). With `fsx-lustre` leave it unset: the size is "
        "`fsx.storageCapacityGiB`.",
    ),
)
DOWNLOAD_RESOURCES = resources(
    "modelCache.download.resources",
    cpu=Fixed("1"),
    memory=Fixed("2Gi"),
    cpu_limit=Fixed("4"),
    examples=("`2`", "`4Gi`", "`8`"),
    docs=(
        "CPU request of a download pod.",
        "Memory request and limit of a download pod.",
        "CPU limit of a download pod.",
    ),
)

KEYS: tuple[Key[Any], ...] = (
    HF_TOKEN,
    ENABLED,
    KIND,
    *STORAGE.keys,
    MOUNT_PATH,
    CLAIM_NAME,
    FSX_POOL,
    FSX_DEPLOYMENT_TYPE,
    FSX_CAPACITY,
    FSX_THROUGHPUT,
    FSX_LUSTRE_VERSION,
    FSX_S3_REPOSITORY,
    FSX_S3_PATH,
    EFS_SUBNETS,
    EFS_THROUGHPUT_MODE,
    CSI_INSTALL,
    CSI_VERSION,
    DOWNLOAD_ENABLED,
    DOWNLOAD_IMAGE,
    DOWNLOAD_TIMEOUT,
    DOWNLOAD_BACKOFF,
    DOWNLOAD_WORKERS,
    DOWNLOAD_EXCLUDE,
    *DOWNLOAD_RESOURCES.keys,
)
