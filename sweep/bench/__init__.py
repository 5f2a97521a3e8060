"""Measuring speed: the training loop's paths side by side (`run`, written up by `report`), and a run's
phase timings under SWEEP_TIMINGS (`summary`, `timings_text`)."""
