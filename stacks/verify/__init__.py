"""`python -m stacks verify`: checks of a deployed stack, printed as one report (`command`)."""
