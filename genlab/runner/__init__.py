"""The roof: configs (config/), one run (run/), tools for finished runs (tools/), many runs (sweep/); a wing
imports only itself and the wings before it in that order, and cli.py is the scripts' shared shell."""
