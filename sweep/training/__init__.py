"""Training one or many trials of the fixed protocol: the data on the device (`data`), the network
(`model`), the loop (`train`), math modes and machine names (`runtime`), checkpoints (`checkpoint`)
and the timings recorder (`timings`). Never imports `sweep.study`."""
