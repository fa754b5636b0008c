"""NATS JetStream: settings and Helm values (`values`), and the component (`component`)."""
