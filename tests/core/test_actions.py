from dataclasses import dataclass

import pytest

from bot.core import actions
from bot.core.actions import BadAction, action


@action("t_demo")
@dataclass(frozen=True)
class Demo:
    name: str
    count: int = 0
    flag: bool = False


def test_pack_and_unpack_round_trip():
    packed = Demo("qd-387-2022", 3, True).pack()
    assert packed == "t_demo:qd-387-2022:3:1"
    assert actions.unpack(packed) == Demo("qd-387-2022", 3, True)
    assert actions.unpack("t_demo:x") == Demo("x")  # defaults fill missing trailing fields


@pytest.mark.parametrize(
    "data",
    [
        "",
        "unknown:1",
        "t_demo",
        "t_demo:x:notanumber",
        "t_demo:x:1:2",
        "t_demo:x:1:0:extra",
        "t_demo::1",
        "t_demo:x:" + "9" * 30,
        "t_demo:x:--5",
        "t_demo:x:²",
        "é" * 40,
    ],
)
def test_bad_data_is_refused(data):
    with pytest.raises(BadAction):
        actions.unpack(data)


def test_packing_refuses_more_than_64_bytes_and_separators():
    with pytest.raises(actions.ActionTooLong):
        Demo("đ" * 40).pack()  # 80 UTF-8 bytes
    with pytest.raises(ValueError):
        Demo("a:b").pack()
    assert not actions.fits(Demo("x" * 70))
    assert actions.fits(Demo("x" * 24, 999999, True))


def test_longest_content_id_fits_every_action():
    """Content ids are held to 24 bytes; every registered action must then fit in 64."""
    import dataclasses

    import handlers

    handlers.build_root_router()
    for prefix, cls in actions._REGISTRY.items():
        values = {}
        for f in dataclasses.fields(cls):
            kind = cls._hints[f.name]
            values[f.name] = "x" * 24 if kind is str else (10**9 if kind is int else True)
        assert len(cls(**values).pack().encode()) <= 64, prefix


def test_only_simple_field_types_register():
    with pytest.raises(TypeError):

        @action("t_bad")
        @dataclass(frozen=True)
        class Bad:
            items: list

    with pytest.raises(ValueError):
        action("t_demo")  # duplicate prefix
