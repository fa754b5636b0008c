"""`python -m stacks verify --stack NAME --dataplane [--graph NAME]`: check the EFA data path of the
stack's graphs and print one report, a section per graph.

The graphs, their worker groups and pools come from the stack's config (each group's data path is
the same pure `data_path` the DGD builder used); which graphs are deployed, their namespace and the
Prometheus to ask come from the stack's outputs; the cluster is reached as `verify` reaches it
(the stack's kubeconfig and context, or --kube-context/--kubeconfig). Graphs without EFA workers
get a note and are not checked.

Exit status: 0 healthy, 1 degraded (serving, but not as planned or not proven yet), 2 not serving,
or not checkable (a bad command line, an unreadable stack).
"""

from __future__ import annotations

import sys
from contextlib import ExitStack

from stacks.ops.report import VERIFY_WORDS, Report, Section, Status
from stacks.verify import command as verify
from stacks.verify.dataplane.cluster import Cluster, Deadline
from stacks.verify.dataplane.options import DataplaneOptions
from stacks.verify.dataplane.runner import Settings, check, title
from stacks.verify.dataplane.sources import http_get
from stacks.verify.dataplane.targets import TargetError, graph_plans, select
from stacks.verify.discovery import DiscoveryError


def run(options: verify.VerifyOptions, dataplane: DataplaneOptions) -> int:
    from stacks.config.load import load
    from stacks.config.reader import ConfigError
    from stacks.config.stackfile import StackFileError

    assert options.stack is not None  # options.problem refuses --dataplane without --stack
    deadline = Deadline(dataplane.time_limit)
    try:
        _, config = load(options.project_dir, options.stack, None)
    except (StackFileError, ConfigError) as error:
        print(f"verify: cannot read the config of stack {options.stack}: {error}", file=sys.stderr)
        return int(Status.FAILED)
    with ExitStack() as forwards:
        try:
            graphs = select(config.dynamo.graphs, dataplane.graph)
            outputs = verify.deployed(options)
            assert outputs is not None  # --stack is given
            plans = graph_plans(graphs, config.pool_shapes, outputs.dynamo.graphs, outputs.dynamo.graph_namespace)
            cluster: Cluster | None = None
            if any(not p.skipped() for p in plans):
                cluster = verify._kubectl(options, forwards)
        except (DiscoveryError, TargetError) as error:
            print(f"verify: {error}", file=sys.stderr)
            return int(Status.FAILED)
        if not plans:
            sections = [Section("graphs", [], note=f"stack {options.stack} has no graphs")]
        elif cluster is None:
            sections = [Section(title(p), [], note=p.skipped()) for p in plans]
        else:
            prometheus = outputs.observability.prometheus_url if outputs.observability is not None else None
            sections = check(plans, cluster, prometheus_url=prometheus, fetch=http_get, deadline=deadline,
                             settings=Settings(sample_seconds=dataplane.sample_seconds,
                                               http_timeout=options.timeout))
    found = Report(f"verify {options.stack} --dataplane", sections, summaries=VERIFY_WORDS)
    print(found.render(options.as_json), end="")
    return found.exit_code
