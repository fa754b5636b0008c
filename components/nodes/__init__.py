"""GPU node pools: instance facts, pool settings and shape, EKS node group builders, the capacity plan and
the GPU platform (GPU operator, EFA device plugin)."""
