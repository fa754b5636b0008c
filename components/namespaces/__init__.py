"""The platform, monitoring and workloads namespaces: names, Pod Security levels and manifests
(`manifests`), and the component that creates them (`component`)."""
