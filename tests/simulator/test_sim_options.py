"""One source of defaults: every option is defined, documented and validated in options.py."""
from __future__ import annotations

import ast
import inspect
from dataclasses import fields

import pytest

import rchelpers.simulator
from rchelpers.simulator import PlatformError, Simulator, SimulatorError, SimulatorOptions
from rchelpers.simulator import errors, options


def _field_comments() -> dict[str, str]:
    """Each field of SimulatorOptions with the ``#:`` comment lines right above it."""
    source = inspect.getsource(options.SimulatorOptions)
    lines = source.splitlines()
    comments: dict[str, str] = {}
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            above = []
            index = node.lineno - 2
            while index >= 0 and lines[index].strip().startswith("#:"):
                above.insert(0, lines[index].strip()[2:].strip())
                index -= 1
            comments[node.target.id] = " ".join(above)
    return comments


def test_every_option_is_documented_as_modelled_observed_or_guessed_where_it_is_defined():
    comments = _field_comments()
    assert list(comments) == [f.name for f in fields(SimulatorOptions)]
    for name, comment in comments.items():
        assert comment.startswith(("Modelled", "Observed", "Guessed")), f"{name}: {comment!r}"


def test_the_package_docstring_points_at_the_options_instead_of_repeating_them():
    doc = rchelpers.simulator.__doc__ or ""
    assert "SimulatorOptions" in doc
    assert "=====" not in doc  # no second table of defaults
    for name in ("retry_schedule", "blacklist_after"):
        assert f"``{name}``" in doc


def test_a_simulator_uses_the_defaults_unless_told_otherwise():
    sim = Simulator(seed=1)
    assert sim.options == options.DEFAULTS == SimulatorOptions()
    assert Simulator(seed=1, delivery_timeout=0.5).options.delivery_timeout == 0.5


@pytest.mark.parametrize("kwargs, message", [
    ({"validation_timeout": 0}, "validation_timeout must be a number of seconds > 0"),
    ({"max_reply_bytes": 1.5}, "max_reply_bytes must be an integer >= 1"),
    ({"retry_schedule": []}, "retry_schedule must be a non-empty list"),
    ({"delivery_workers": True}, "delivery_workers must be an integer >= 1"),
])
def test_bad_values_raise_an_option_error_that_is_a_value_error(kwargs, message):
    with pytest.raises(errors.OptionError, match=message) as caught:
        Simulator(**kwargs)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, SimulatorError)


def test_an_unknown_option_names_the_known_ones():
    with pytest.raises(TypeError, match="unknown Simulator option\\(s\\) colour; known: .*webhook_ca_file"):
        Simulator(colour="blue")


def test_every_simulator_exception_has_one_root():
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, BaseException)]
    assert len(classes) >= 7
    assert all(issubclass(c, SimulatorError) for c in classes)
    error = PlatformError(404, "CMN-102", "Resource for parameter [x] is not found", "x")
    assert error.body() == {"errorCode": "CMN-102", "message": "Resource for parameter [x] is not found",
                            "errors": [{"errorCode": "CMN-102", "message": "Resource for parameter [x] is not found",
                                        "parameterName": "x"}], "parameterName": "x"}
