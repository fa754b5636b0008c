"""`python -m stacks verify --stack NAME --dataplane`: the EFA data path of each deployed graph, checked
the way Dynamo's EFA guide verifies it (`command`; docs/operations.md has the runbook)."""
