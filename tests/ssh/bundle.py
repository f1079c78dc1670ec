"""The agent zipapp for SSH tests, built once per test session."""

from __future__ import annotations

import functools

from mudmap_tui.ssh.agent_channel import AgentBundle, default_bundle


@functools.cache
def agent_bundle() -> AgentBundle:
    return default_bundle()
