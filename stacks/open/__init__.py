"""`python -m stacks open`: a port-forward to Grafana, Prometheus or Alertmanager of a deployed stack."""
