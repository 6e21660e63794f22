"""Keeps a CPython 3.11 parser crash from ending a schemathesis run.

CPython 3.11's `ast.parse` sometimes raises "SystemError: AST constructor
recursion depth mismatch" (a bug of that interpreter, fixed in later
releases). Hypothesis calls `ast.parse` only to turn a filter's lambda into
a readable description for its messages; when the parse crashes, the whole
schemathesis operation is reported as a tool error although the API was
never at fault.

Loaded at interpreter start from a .pth file in the schemathesis virtual
environment (scripts/schemathesis.sh installs both). It wraps hypothesis's
lambda describer so that this one SystemError yields hypothesis's own
"could not describe" answer (a body of `<unknown>`) instead of a crash.
Nothing else changes: generation, checks and every other error are
untouched.
"""

import inspect

try:
    from hypothesis.internal import lambda_sources as _sources
except Exception:  # hypothesis missing or reorganised: leave it alone
    _sources = None

_MARK = "recursion depth mismatch"


def _unknown(f):
    try:
        params = str(inspect.signature(f))[1:-1]
    except (TypeError, ValueError):
        params = ""
    return f"lambda {params}: <unknown>" if params else "lambda: <unknown>"


if _sources is not None and hasattr(_sources, "_lambda_description"):
    _describe = _sources._lambda_description

    def _guarded_description(f, *args, **kwargs):
        try:
            return _describe(f, *args, **kwargs)
        except SystemError as error:
            if _MARK not in str(error):
                raise
            return _unknown(f)

    _sources._lambda_description = _guarded_description
