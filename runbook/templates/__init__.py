"""Sandboxed Jinja2: every substituted value shell-quoted unless `| raw`; filters; text
derived from a secret masked. Jinja2 itself loads with the first text that templates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook.exports import lazy_exports

if TYPE_CHECKING:
    from runbook.templates._expressions import (
        check_expression as check_expression,
        evaluate as evaluate,
        render_names as render_names,
    )
    from runbook.templates._jinja import (
        RENDER_ERRORS as RENDER_ERRORS,
        compile_template as compile_template,
        describe_error as describe_error,
        parse_template as parse_template,
        syntax_hint as syntax_hint,
    )
    from runbook.templates._render import (
        context as context,
        has_template as has_template,
        hosts_view as hosts_view,
        render_command as render_command,
        render_text as render_text,
    )
    from runbook.templates._secret_forms import SecretForms as SecretForms
    from runbook.templates._steps import steps_view as steps_view
else:  # at run time each name is imported on first use: see runbook/exports.py
    __getattr__, __all__ = lazy_exports(
        __name__,
        {
            "_expressions": ("check_expression", "evaluate", "render_names"),
            "_jinja": (
                "RENDER_ERRORS",
                "compile_template",
                "describe_error",
                "parse_template",
                "syntax_hint",
            ),
            "_render": ("context", "has_template", "hosts_view", "render_command", "render_text"),
            "_secret_forms": ("SecretForms",),
            "_steps": ("steps_view",),
        },
    )
