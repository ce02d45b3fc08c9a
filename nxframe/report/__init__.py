"""The monthly report: exact totals, the billing check, the month before, anomalies; Excel, HTML, CSV.

Modules, data flowing one way:

- ``tables``: the one totals/breakdown kernel (exact Arrow sums; also used by
  the CLI, the widgets and ``df.cdr``);
- ``audit``: the documented billing rules, vectorised;
- ``sources``: a frame or a lake, cut to dates;
- ``anomalies``: the month against the one before, and what looks wrong;
- ``words``: months, labels, exact decimals as text;
- ``model`` (the data and words), ``document`` (``Report``: plus its files),
  ``assemble`` (the figures from rows read), ``build`` (``monthly_report``),
  ``checks`` (``audit_billing``, ``check_lines``);
- ``package`` (a sign-off package on disk: manifest, hashes, ``verify_signoff``),
  ``signoff`` (``Report.signoff`` writes one), ``restate`` (``restatements``);
- ``render_html`` (Jinja2 template, autoescape), ``render_excel``,
  ``render_csv``, ``charts``: imported only when a file is written.
"""

from .anomalies import ANOMALY_COLUMNS, CHANGE_COLUMNS, KINDS
from .audit import AUDIT_COLUMNS, ISSUES
from .build import monthly_report
from .charts import CHART_TITLES
from .checks import audit_billing, check_lines
from .document import Report
from .model import SECTIONS, TABLES
from .package import verify_signoff
from .restate import RESTATEMENT_COLUMNS, restatements
from .tables import AVERAGE_PLACES, MEASURES, UNKNOWN, breakdown, totals
from .words import CURRENCY, month_range, output_kind, previous_month

__all__ = [
    "ANOMALY_COLUMNS",
    "AUDIT_COLUMNS",
    "AVERAGE_PLACES",
    "CHANGE_COLUMNS",
    "CHART_TITLES",
    "CURRENCY",
    "ISSUES",
    "KINDS",
    "MEASURES",
    "RESTATEMENT_COLUMNS",
    "SECTIONS",
    "TABLES",
    "UNKNOWN",
    "Report",
    "audit_billing",
    "breakdown",
    "check_lines",
    "month_range",
    "monthly_report",
    "output_kind",
    "previous_month",
    "restatements",
    "totals",
    "verify_signoff",
]
