"""Config composition (schema <- group yaml <- experiment <- command line) and its one-line errors."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from genlab.core.errors import ConfigError
from genlab.runner.config import compose, compose_from_saved, typed
from genlab.runner.config.load import list_experiments


def test_layers_merge_in_order():
    cfg = compose(["experiment=dae_mnist", "model.latent_dim=7", "trainer.max_epochs=3", "seed=5"])
    assert cfg.model.latent_dim == 7  # command line beats the group yaml (32)
    assert cfg.model.corruption == "gaussian"  # experiment beats the group yaml ("none")
    assert cfg.model.hidden == [512, 256]  # group yaml beats the schema default
    assert cfg.trainer.max_epochs == 3 and cfg.seed == 5
    assert cfg.model.weight_decay == 0.0  # schema default, in no yaml


def test_string_fields_take_the_text_as_written():
    cfg = compose(["experiment=ae_mnist", "data.value_range=[-1,1]", "logger.name=1e3", "logger.group=007",
                   "data.root=null"])
    assert cfg.data.value_range == [-1.0, 1.0]  # a list needs no quoting, on the command line or in YAML
    # YAML alone reads 1e3 as a float and 007 as the integer 7
    assert cfg.logger.name == "1e3" and cfg.logger.group == "007" and cfg.data.root is None
    assert compose(["experiment=ae_mnist", "logger.name='1e3'"]).logger.name == "1e3"


def test_group_option_switches_schema_defaults():
    cfg = compose(["experiment=ae_mnist", "model=conv_autoencoder"])
    assert cfg.model.arch == "conv"
    assert cfg.choices.model == "conv_autoencoder"


def test_typed_group_is_the_schema_dataclass():
    model = typed(compose(["experiment=ae_mnist"]).model, "model")
    assert type(model).__name__ == "AutoencoderConfig" and model.latent_dim == 32


def test_experiments_are_listed():
    assert {"ae_mnist", "dae_mnist", "conv_ae_mnist"} <= set(list_experiments())


@pytest.mark.parametrize(("args", "expected"), [
    (["experiment=ae_mnist", "trainer.max_epoch=1"], "did you mean 'trainer.max_epochs'"),
    (["experiment=ae_mnist", "model.latent_dimm=3"], "did you mean 'model.latent_dim'"),
    (["experiment=ae_mnist", "data.batch_size=-3"], "data.batch_size=-3: must be >= 1"),
    (["experiment=ae_mnist", "model.latent_dim=abc"], "model.latent_dim"),
    (["experiment=ae_mnist", "model.latent_dim=0"], "model.latent_dim=0: must be >= 1"),
    (["experiment=ae_mnist", "model.loss=l3"], "model.loss='l3': must be one of bce, mse"),
    (["experiment=ae_mnist", "logger.mode=sometimes"], "logger.mode='sometimes'"),
    (["experiment=nope"], "unknown experiment 'nope'; available: "),
    (["experiment=ae_mnist", "model=nope"], "unknown model option 'nope'; available: "),
    (["experiment=ae_mnist", "trainr.max_epochs=1"], "did you mean 'trainer'"),
    (["trainer.max_epochs=1"], "no experiment given"),
    (["experiment=ae_mnist", "latent_dim"], "not of the form key=value"),
])
def test_bad_input_is_one_actionable_line(args, expected):
    with pytest.raises(ConfigError) as err:
        compose(args)
    message = str(err.value)
    assert expected in message
    assert "\n" not in message


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError) as err:
        compose(["experiment=ae_mnist", "trainer.max_epoch=1"])
    assert "max_epochs" in str(err.value) and "limit_train_batches" in str(err.value)


def test_saved_config_round_trips_with_overrides():
    cfg = compose(["experiment=ae_mnist", "model.latent_dim=9"])
    saved = OmegaConf.to_container(cfg)
    rebuilt = compose_from_saved(saved, ["eval.batch_size=17"])
    assert rebuilt.model.latent_dim == 9 and rebuilt.eval.batch_size == 17
    with pytest.raises(ConfigError, match="cannot switch model"):
        compose_from_saved(saved, ["model=conv_autoencoder"])


@pytest.mark.slow
def test_cli_errors_exit_nonzero_and_write_nothing(cli, tmp_path):
    for args, expected in [
        (["experiment=ae_mnist", "trainer.max_epoch=1"], "max_epochs"),
        (["experiment=ae_mnist", "data.batch_size=-3"], "data.batch_size=-3"),
        (["experiment=ae_mnist", "model.latent_dim=abc"], "model.latent_dim"),
        (["experiment=typo"], "ae_mnist"),
    ]:
        result = cli("train.py", *args, f"run_dir={tmp_path / 'run'}", cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
        assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_help_lists_experiments_and_keys(cli):
    result = cli("train.py", "--help")
    assert result.returncode == 0
    for text in ("ae_mnist", "dae_mnist", "conv_ae_mnist", "trainer.max_epochs", "model.latent_dim=32",
                 "data.batch_size", "logger.mode='auto'"):
        assert text in result.stdout


def test_the_default_end_of_training_likelihood_test_is_cheap_and_the_full_one_a_flag_away():
    assert compose(["experiment=vae_mnist"]).eval.iw_samples == 100
    assert compose(["experiment=vae_mnist", "eval.iw_samples=5000"]).eval.iw_samples == 5000


def test_a_run_saved_with_the_old_text_value_range_still_composes():
    saved = OmegaConf.to_container(compose(["experiment=gan_mnist"]), resolve=True)
    saved["data"]["value_range"] = "-1_1"  # how runs saved it before it became a list
    assert list(compose_from_saved(saved, []).data.value_range) == [-1.0, 1.0]


def test_the_last_name_given_chooses_the_schema():
    from genlab.runner.config.load import chosen_name

    layers = [{"name": "vae", "lr": 1.0}, {"lr": 2.0}, {"name": "autoencoder"}]
    assert chosen_name("model", layers, []) == "autoencoder"
    assert chosen_name("model", layers, ["model.lr=3", "model.name=gan", "data.name=mnist"]) == "gan"
    assert chosen_name("model", [{"lr": 1.0}], []) is None
