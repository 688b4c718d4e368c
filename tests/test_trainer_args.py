"""``trainer.*`` is every argument of the installed Lightning Trainer (minus those genlab sets), read from its
source without importing Lightning, typed for a command line, with Lightning's defaults, and checked by Lightning
when a run starts (``check_before_run``)."""

from __future__ import annotations

import ast
import inspect
import typing
from typing import Any, Union

import pytest
import pytorch_lightning as pl

from genlab.core.errors import ConfigError
from genlab.runner.config import TrainerConfig, compose
from genlab.runner.config.trainer_args import SET_BY_GENLAB, _config_type, trainer_fields
from genlab.runner.run.plan import check_before_run


def test_every_trainer_argument_but_those_genlab_sets_is_a_key_with_lightnings_default():
    params = {n: p for n, p in inspect.signature(pl.Trainer.__init__).parameters.items() if n != "self"}
    fields = TrainerConfig.__dataclass_fields__
    assert set(fields) == set(params) - set(SET_BY_GENLAB)
    assert all(fields[n].default == params[n].default for n in fields)


def _runtime_primitives(annotation) -> set:
    """The primitive types a Trainer annotation allows, from the imported class (aliases resolved by Python)."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return {type(a) for a in args}
    if args and typing.get_origin(annotation) is not typing.Union:
        return set()  # list[int], dict[str, int]: not a primitive
    members = args or (annotation,)
    return {m for m in members if m in (bool, int, float, str)} | {p for m in members if typing.get_args(m)
                                                                   for p in _runtime_primitives(m)}


def test_the_types_read_from_lightnings_source_match_the_imported_trainer():
    """What is read from the source (no import) agrees with the class: where a primitive type was kept, it is
    exactly the primitives the real annotation allows (Any leaves the value to Lightning)."""
    params = inspect.signature(pl.Trainer.__init__).parameters
    for name, kind, _ in trainer_fields():
        if kind is Any:
            continue
        kept = {k for k in (typing.get_args(kind) or (kind,)) if k is not type(None)}
        assert kept == _runtime_primitives(params[name].annotation), name


@pytest.mark.parametrize(("annotation", "expected"), [
    ("int", int),
    ("Optional[int]", int | None),  # the form Lightning writes
    ("Union[str, Accelerator]", str),  # objects cannot come from a command line
    ("Union[list[int], str, int]", Any),  # a list too: Lightning judges the value
    ("Optional[Union[str, timedelta, dict[str, int]]]", Any),
    ("Union[Literal[64, 32], Literal['bf16-mixed'], None]", Union[int, str, None]),  # noqa: UP007
    ("Optional[Union[int, float]]", Union[int, float, None]),  # noqa: UP007
    ("int | None", int | None),
    ("Optional[_PRECISION_INPUT]", Any),  # an alias defined elsewhere: Lightning judges the value
])
def test_config_type_keeps_the_primitive_part_of_lightnings_annotation(annotation, expected):
    assert _config_type(ast.parse(annotation, mode="eval").body) == expected


def test_a_trainer_argument_genlab_did_not_list_by_hand_is_accepted():
    cfg = compose(["experiment=ae_mnist", "trainer.overfit_batches=1", "trainer.use_distributed_sampler=false"])
    assert cfg.trainer.overfit_batches == 1 and cfg.trainer.use_distributed_sampler is False


@pytest.mark.parametrize(("override", "message"), [
    ("trainer.accelerator=gpu", "trainer.accelerator=gpu"),  # the line names the key Lightning refused
    ("trainer.callbacks=[]", "trainer.callbacks cannot be set"),
    ("trainer.enable_checkpointing=false", "last.ckpt"),
])
def test_lightning_refusals_and_genlab_owned_arguments_are_one_config_error(override, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        check_before_run(compose(["experiment=ae_mnist", override]))
