"""The study and its queue: the database (`storage`), the search space (`space`), the cells as Optuna
trials (`queue`), sweep's own SQL (`attempts`, over the tables `schema` declares), riding out outages
(`patience`), records through Optuna's setters (`records`) and the `--until-precise` rule (`precision`).
Never imports `sweep.training`."""
