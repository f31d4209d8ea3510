"""The lab dashboard (docs/reports.md): one self-contained page for a lab night, with its progress, findings, device
timeline and failures, and each app's run report beside it.

    from reports.dashboard import write_dashboard
    write_dashboard(Path("labs/2026-11-28"), Path("site"), lang="zh-CN")   # site/index.html, site/runs/*.html

data.py reads the lab (its index and each latest run, cached); charts.py draws with matplotlib to SVG; render.py
writes the files atomically.
"""

from reports.dashboard.render import DashboardRefresher, render_dashboard, write_dashboard

__all__ = ["DashboardRefresher", "render_dashboard", "write_dashboard"]
