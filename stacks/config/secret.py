"""A secret config value (`components.kit.secret.SecretValue`), under the name the config readers use."""

from __future__ import annotations

from components.kit.secret import SecretValue

__all__ = ["SecretValue"]
