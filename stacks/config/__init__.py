"""The stack's configuration: read from raw config (`reader`, one module per section) into the typed
model of `stack.StackConfig`, with every problem collected. Importing this package loads nothing:
each command imports the modules it needs."""
