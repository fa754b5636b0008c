"""Serves the pack to the Pulumi CLI, which runs this directory (`pulumi preview --policy-pack policy`).

The CLI runs the directory as a script, so `policy/` is on the import path but is no package there;
the repository root is put first so that `policy.pack` resolves as it does for the tests.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.pack import PACK_NAME, policies

if __name__ == "__main__":
    PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=EnforcementLevel.MANDATORY)
