"""dynamo-cluster: load the typed stack config, build the environment, export its outputs."""

from stacks.config.reader import ConfigError
from stacks.program.command import main

try:
    main()
except ConfigError as error:
    import pulumi

    raise pulumi.RunError(str(error)) from None
