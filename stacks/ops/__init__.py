"""The operations toolkit of the offline commands (preflight, verify, open): reaching the cluster
(kubectl, `kubectl`), the AWS account (`aws`) and a deployed stack's outputs (`outputs`), and saying
what was found (`report`)."""
