"""ML903: a ``# noqa: ML...`` comment that suppresses nothing."""

from __future__ import annotations

from migration_lint.findings import Severity
from migration_lint.rules._get_or_create import ADS_INITIAL, ADS_MODELS
from migration_lint.rules.base import Example, Rule
from migration_lint.suppress import UNUSED_CODE

_VIEWS = """\
from ads.models import Ad


def show(value):
    return Ad.objects.get_or_create({lookup}=value)  # noqa: ML301
"""


class UnusedSuppression(Rule):
    """Suppression comment that matches no finding.

    ## What it does
    Reports a `# noqa: ML...` code on an operation's lines, or on the lines of a
    `get_or_create` call in application code, when no finding of that code (or prefix) is
    reported there. The suppression stage reports it; codes of other tools (`E501`) and a bare
    `# noqa` are left alone, and so are codes of rules that did not run.

    ## Why is this bad?
    A stale suppression hides the next real finding on those lines: the operation was changed
    and is safe now, but the comment will silence the rule when it is changed again.

    ## Use instead
    Remove the code from the comment (or the whole comment).
    """

    code = UNUSED_CODE
    name = "unused-suppression"
    severity = Severity.WARNING
    scope = "suppress"

    flagged = (
        Example(
            title="Nothing on the line is reported",
            source="""\
from django.db import migrations


class Migration(migrations.Migration):
    operations = [migrations.DeleteModel("Coupon")]  # noqa: ML902
""",
            line=5,
        ),
        Example(
            title="A prefix that matches nothing",
            source="""\
from django.db import migrations


class Migration(migrations.Migration):
    operations = [
        migrations.DeleteModel("Coupon"),  # noqa: ML9
    ]
""",
            line=6,
        ),
        Example(
            title="A get_or_create by primary key needs no suppression",
            app_label="ads",
            files=(("ads/models.py", ADS_MODELS), ("ads/views.py", _VIEWS.format(lookup="pk"))),
            source=ADS_INITIAL,
            line=5,
        ),
    )
    accepted = (
        Example(
            title="The suppression is used",
            source="""\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0000_gone")]  # noqa: ML902
    operations = []
""",
        ),
        Example(
            title="Other tools' codes and a bare noqa",
            source="""\
from django.db import migrations


class Migration(migrations.Migration):
    operations = [migrations.DeleteModel("Coupon")]  # noqa: E501
    replaces = []  # noqa
""",
        ),
        Example(
            title="The call's lookup is not unique: the suppression is used",
            app_label="ads",
            files=(("ads/models.py", ADS_MODELS), ("ads/views.py", _VIEWS.format(lookup="title"))),
            source=ADS_INITIAL,
        ),
    )
