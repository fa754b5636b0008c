"""Observability: Helm values, the component, alert rules, dashboards and the metric catalog they use."""
