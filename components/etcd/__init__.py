"""etcd: the command line (`flags`), settings and manifests (`manifests`), and the component (`component`)."""
