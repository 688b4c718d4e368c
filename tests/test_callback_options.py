"""Callbacks from config: picture callbacks take their own options over the shared ones and draw by one cadence
rule; Lightning's own callbacks are added by name; bad names and options are one-line errors at compose time."""

from __future__ import annotations

import pytest
from pytorch_lightning.callbacks import EarlyStopping, LearningRateMonitor

from genlab.callbacks import FixedNoiseGrid, LatentInterpolation
from genlab.callbacks.images import epoch_due
from genlab.core.errors import ConfigError
from genlab.runner.config import compose, typed
from genlab.runner.run.build import added_callbacks
from genlab.runner.run.plan import check_before_run


def test_epoch_due_after_every_nth_epoch_counted_from_one():
    assert [e for e in range(7) if epoch_due(e, 3)] == [2, 5]
    assert [e for e in range(3) if epoch_due(e, 1)] == [0, 1, 2]


def test_own_options_win_over_the_shared_ones_and_lightning_callbacks_come_by_name():
    cfg = compose(["experiment=gan_mnist", "callbacks.options.fixed_noise_grid.num_images=9",
                   "callbacks.options.fixed_noise_grid.every_n_epochs=2",
                   "callbacks.lightning=[early_stopping,lr_monitor]",
                   "callbacks.options.early_stopping.monitor=val/fid", "callbacks.options.early_stopping.patience=4"])
    grid, interpolation, stopping, lr_monitor = added_callbacks(typed(cfg.callbacks, "callbacks"))
    assert isinstance(grid, FixedNoiseGrid) and (grid.cfg.num_images, grid.cfg.every_n_epochs) == (9, 2)
    assert isinstance(interpolation, LatentInterpolation) and interpolation.cfg.num_images == 64  # callbacks/gan.yaml
    assert isinstance(stopping, EarlyStopping) and (stopping.monitor, stopping.patience) == ("val/fid", 4)
    assert isinstance(lr_monitor, LearningRateMonitor)


@pytest.mark.parametrize("override, message", [
    ("callbacks.options.fixed_noise_grid.num_imges=3", "callbacks.options.fixed_noise_grid: Key 'num_imges' not in"),
    ("callbacks.options.fixed_noise_grid.num_images=0", "fixed_noise_grid.num_images=0: must be >= 1"),
    ("callbacks.lightning=[early_stop]", "unknown callback name 'early_stop'; available: early_stopping"),
    ("callbacks.options.latent_scatter.num_images=3", "callbacks.options.latent_scatter: no such callback"),
])
def test_bad_callback_names_and_options_are_refused_before_the_run(override, message):
    with pytest.raises(ConfigError, match=message):
        check_before_run(compose(["experiment=gan_mnist", override]))


def test_bad_options_of_a_lightning_callback_are_refused_before_the_run():
    with pytest.raises(ConfigError, match="callbacks.options.early_stopping: .*unexpected keyword argument 'monitr'"):
        check_before_run(compose(["experiment=gan_mnist", "callbacks.lightning=[early_stopping]",
                                  "callbacks.options.early_stopping.monitr=x"]))
