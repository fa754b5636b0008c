"""How a graph's frontend is reached from outside its namespace: the endpoint variants, the AWS Load
Balancer Controller that turns an Ingress into an Application Load Balancer, and the objects each
endpoint needs (Ingress, HTTPRoute, NetworkPolicy)."""
