"""Fixtures for the agent's tests: throwaway namespaces and agents running inside them."""

from tests.agent.netns_fixtures import agent, kernel_kinds, netns

__all__ = ["agent", "kernel_kinds", "netns"]
