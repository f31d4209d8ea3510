"""The HTML report: one self-contained page per run (zh-CN by default, or en) and a lab-wide index of many runs.

    from reports.html import render_run_report, write_run_report, render_index
    write_run_report(Path("runs/<run-id>"), Path("report.html"), lang="zh-CN")

gather.py reads a run into the plain view-model of view.py; render.py turns it into HTML with the templates in
reports/templates (Jinja2, autoescape); graph_svg.py draws the state graph. App text is escaped everywhere.
"""

from reports.html.gather import ReportError
from reports.html.render import expand_runs, render_index, render_run_report, write_index, write_run_report
from reports.html.strings import UnknownLanguage

__all__ = ["ReportError", "UnknownLanguage", "expand_runs", "render_index", "render_run_report", "write_index",
           "write_run_report"]
