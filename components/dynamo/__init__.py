"""Dynamo: graph settings (`spec`), backend command lines, DynamoGraphDeployment manifests, the operator
chart and model storage, each pure builder beside the component that registers its output."""
