"""The dynamo-cluster policy pack: `rules` holds the rules as pure functions, `pack` binds them to the
Pulumi policy SDK, `__main__` serves them to the Pulumi CLI (`pulumi preview --policy-pack policy`)."""
