"""Shared file systems for the model cache on AWS: FSx for Lustre and EFS, their security groups, the
CSI drivers that mount them (EKS add-ons), and the Kubernetes objects that expose them to pods."""
