"""Metrics: one view of the running process, and a Prometheus endpoint to scrape it.

Builds on ``callboard.actors``, ``callboard.consumers`` and ``callboard.layers``;
never imports Django.
"""

from ._app import MetricsApp as MetricsApp
from ._exposition import CONTENT_TYPE as CONTENT_TYPE
from ._exposition import render_metrics as render_metrics
from ._view import ProcessStatistics as ProcessStatistics
from ._view import process_statistics as process_statistics

__all__ = [
    "CONTENT_TYPE",
    "MetricsApp",
    "ProcessStatistics",
    "process_statistics",
    "render_metrics",
]
