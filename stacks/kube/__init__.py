"""Reaching a deployed stack from outside the cluster: its outputs through the Pulumi CLI, and kubectl
(port-forwards, Secrets) against the stack's own kubeconfig and context. Shared by `verify` and
`open`; imports no command."""
