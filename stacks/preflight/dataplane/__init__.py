"""`python -m stacks preflight --dataplane`: before graphs are deployed, prove that each EFA pool's
data path works, by running things on it (the read-only checks of `stacks.preflight.cluster` only
look). For every EFA pool that a graph with a GPU backend places workers on (`targets`):

1. a sanity pass on each Ready node, in the image the graph's workers run there (the release's
   ``-efa`` runtime image, or the graph's ``efaImage``): the GPUs, the driver and CUDA version,
   /dev/shm, the EFA devices libfabric finds, the huge pages, the image's library path (`script`
   prints them, `parse` reads them, `checks` judges them);
2. a two-node NIXL transfer benchmark (nixlbench, LIBFABRIC backend, GPU memory to GPU memory) on
   two nodes that passed, coordinated through a temporary single-member etcd, judged against half
   the line rate of the EFA interfaces one GPU's pod gets (`thresholds`).

Everything runs in a temporary namespace (`manifests`), created by `runner` over the small
`cluster.DataplaneCluster` protocol (the real one, `cluster.KubectlDataplaneCluster`, uses kubectl) and deleted at
the end, also on Ctrl-C and SIGTERM (`signals`). ``--print`` writes the objects instead (`printing`).
`command` is the entry point.
"""
