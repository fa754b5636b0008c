"""Registering resources with the Pulumi engine: Kubernetes objects from manifests, AWS resources from
wire properties, Helm releases, and what components that publish metrics need from observability.
The only part of the kit that imports Pulumi; every builder it registers is a pure function elsewhere."""
