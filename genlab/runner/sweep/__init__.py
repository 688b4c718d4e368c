"""Many runs: grids and seeds (--multirun, submitit launchers) and W&B sweep files."""
