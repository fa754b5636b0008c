"""Every config key, declared once per section (`stacks.config.schema.Key`): the readers read them,
`Node.close()` refuses what they do not name, and `stacks.config.docs` renders docs/configuration.md's
tables from them. `sections.SECTIONS` lists the sections in the order of the page."""
