"""The TUI shows any user error (a TracekitError) as its one line, and a bug with its type,
never a traceback."""
from __future__ import annotations

import asyncio

import pytest

from tests.tui.conftest import wait_loaded


def _failed_load(app) -> str:
    async def go():
        async with app.run_test(size=(100, 24)) as pilot:
            await wait_loaded(pilot)
            shown = app.screen.query_one("#loading-stage").render().plain
            await pilot.press("q")
            return shown

    shown = asyncio.run(go())
    assert app.error is not None and app.trace is None
    assert "Could not open the trace" in shown and app.error in shown
    assert "Traceback" not in shown
    return app.error


@pytest.mark.parametrize("case", ["taxonomy", "step"])
def test_user_error_is_one_line_as_the_cli_prints_it(case, make_app, decoder, tmp_path):
    import tracekit
    from tracekit.analysis import StepError
    from tracekit.model import TracekitError
    from tracekit.taxonomy import TaxonomyError

    if case == "taxonomy":
        absent = tmp_path / "absent.toml"
        app = make_app(decoder, taxonomy=str(absent))
        # the same error, raised by the library directly
        with pytest.raises(TaxonomyError) as info:
            tracekit.Taxonomy.from_file(str(absent))
    else:
        app = make_app(decoder, step="12345")
        from tracekit import analysis

        with pytest.raises(StepError) as info:
            analysis.select(tracekit.load(decoder, cache=False), "12345")
    assert isinstance(info.value, TracekitError)
    message = _failed_load(app)
    assert message == str(info.value)  # no class name, nothing added
    assert "\n" not in message


def test_a_bug_names_its_type(make_app, decoder, monkeypatch):
    import tracekit

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug while loading")

    monkeypatch.setattr(tracekit, "load", broken)
    assert _failed_load(make_app(decoder)) == "ZeroDivisionError: a bug while loading"


def test_any_error_under_the_root_is_a_user_error(make_app, decoder, monkeypatch):
    """Not a list of known classes: a new TracekitError subclass is shown as its line."""
    import tracekit
    from tracekit.model import TracekitError

    class NewKindOfUserError(TracekitError):
        pass

    def refuse(*args, **kwargs):
        raise NewKindOfUserError("run.json: refused for a reason the user can fix")

    monkeypatch.setattr(tracekit, "load", refuse)
    assert _failed_load(make_app(decoder)) == "run.json: refused for a reason the user can fix"
