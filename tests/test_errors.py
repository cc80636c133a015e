"""The exception hierarchy: one root, each class also a fitting built-in."""

from __future__ import annotations

import pytest

from gridplan import errors


@pytest.mark.parametrize(
    "cls, builtin",
    [
        (errors.CRSError, ValueError),
        (errors.GeometryError, ValueError),
        (errors.NetworkError, ValueError),
        (errors.InfeasibleError, ValueError),
        (errors.DataError, ValueError),
        (errors.LayerNotFoundError, LookupError),
    ],
)
def test_hierarchy(cls, builtin):
    assert issubclass(cls, errors.GridplanError)
    assert issubclass(cls, builtin)
    with pytest.raises(errors.GridplanError, match="what and how"):
        raise cls("what and how")


def test_every_public_error_is_listed():
    public = {n for n in dir(errors) if n.endswith(("Error", "Warning")) and not n.startswith("_")}
    assert public == set(errors.__all__)
    assert issubclass(errors.GridplanWarning, UserWarning)
