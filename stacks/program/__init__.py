"""The Pulumi program: the environment wiring (`environment`) and its entry point (`command.main`)."""
