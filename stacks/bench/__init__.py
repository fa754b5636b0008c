"""`python -m stacks bench`: AIPerf against a graph at several concurrency levels, measured against
the graph's SLO (`graphs[].slo`), reported as JSON, a Markdown table and PNG plots."""
