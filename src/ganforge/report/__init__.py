"""Static HTML reports of a training run or a reproduction: `ganforge report DIR`.

One self-contained file: every picture is embedded as a base64 data URI and the page loads nothing from
a server or the network, so it can be mailed, archived or opened from a CI artefact.
"""
from .html import build_report, write_report

__all__ = ["build_report", "write_report"]
