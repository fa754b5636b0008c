"""Primitives every component uses: registering Kubernetes and AWS objects, Helm releases, chart pins,
quantities, resources, spreading, NetworkPolicies and the monitoring protocol."""
