"""Stack-level code: the config model, the environment composition, and the offline tools
(plan, preflight, verify). Stacks import components; never the other way round."""
