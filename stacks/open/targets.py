"""What `open` can open."""

from __future__ import annotations

from typing import Literal, get_args

Target = Literal["grafana", "prometheus", "alertmanager", "frontend"]
TARGETS: tuple[Target, ...] = get_args(Target)
