"""The study and its queue: the database (`storage`), the search space (`space`), the cells as Optuna
trials (`queue`), riding out outages (`patience`), one-transaction records (`records`) and the
`--until-precise` rule (`precision`). Never imports `sweep.training`."""
