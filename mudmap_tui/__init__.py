"""Mudmap TUI: run a fleet of Linux network devices over SSH from the terminal."""

__version__ = "0.1.0"
