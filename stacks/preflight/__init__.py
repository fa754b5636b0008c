"""`python -m stacks preflight`: cluster and AWS checks before `pulumi up`, printed as one report (`command`)."""
