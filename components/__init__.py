"""One Pulumi ComponentResource per concern, with the pure value builders beside them.

Layering: components never import `stacks`; they take frozen settings dataclasses and other
components' typed outputs.
"""
