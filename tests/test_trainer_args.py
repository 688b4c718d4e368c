"""``trainer.*`` is every argument of the installed Lightning Trainer (minus those genlab sets), typed for a
command line, with Lightning's defaults, and checked by Lightning when a config is composed."""

from __future__ import annotations

import datetime
import inspect
from typing import Any, Literal, Optional, Union

import pytest
import pytorch_lightning as pl

from genlab.core.errors import ConfigError
from genlab.runner.config import TrainerConfig, compose
from genlab.runner.config.trainer_args import SET_BY_GENLAB, _config_type


def test_every_trainer_argument_but_those_genlab_sets_is_a_key_with_lightnings_default():
    params = {n: p for n, p in inspect.signature(pl.Trainer.__init__).parameters.items() if n != "self"}
    fields = TrainerConfig.__dataclass_fields__
    assert set(fields) == set(params) - set(SET_BY_GENLAB)
    assert all(fields[n].default == params[n].default for n in fields)


@pytest.mark.parametrize(("annotation", "expected"), [
    (int, int),
    (Optional[int], int | None),  # noqa: UP045 - the form Lightning writes
    (Union[str, pl.accelerators.Accelerator], str),  # noqa: UP007 - objects cannot come from a command line
    (Union[list[int], str, int], Any),  # noqa: UP007 - a list too: Lightning judges the value
    (Union[str, datetime.timedelta, dict[str, int], None], Any),  # noqa: UP007
    (Union[Literal[64, 32], Literal["bf16-mixed"], None], Union[int, str, None]),  # noqa: UP007
    (Union[float, int, None], Union[float, int, None]),  # noqa: UP007
])
def test_config_type_keeps_the_primitive_part_of_lightnings_annotation(annotation, expected):
    assert _config_type(annotation) == expected


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
        compose(["experiment=ae_mnist", override])
