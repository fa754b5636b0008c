"""Developer tools: the plan benchmark and the Dynamo runtimes the conformance suite runs."""
