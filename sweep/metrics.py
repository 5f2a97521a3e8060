"""What each metric is, for every layer: its name, its unit, how it is shown and which margin judges it.

Stored values are in raw units (accuracies as fractions, losses in nats); shown values are in %, pp or
nats. The study's stopping rule, the report and the CLI all read this one vocabulary.
"""

METRICS = ("train_acc", "val_acc", "gap", "train_nll", "val_nll", "nll_gap", "val_loss", "val_ece", "val_sce",
           "seconds")
HEADLINE = ("gap", "val_acc", "nll_gap", "val_ece")  # the question's answer, in this order
COMPARED = (*HEADLINE, "train_acc", "val_nll", "val_sce")  # each tested against ε = 0 in comparisons.csv
# (name, unit of a value); differences of a % are in pp
UNITS = {"train_acc": ("train accuracy", "%"), "val_acc": ("validation accuracy", "%"), "gap": ("accuracy gap", "pp"),
         "train_nll": ("train NLL", "nats"), "val_nll": ("validation NLL", "nats"), "nll_gap": ("NLL gap", "nats"),
         "val_loss": ("validation smoothed loss", "nats"), "val_ece": ("ECE", "%"),
         "val_sce": ("signed calibration error (confidence − accuracy)", "pp"), "seconds": ("time", "s"),
         "best_epoch": ("onset epoch", "epochs"), "val_nll_min": ("lowest validation NLL", "nats"),
         "nll_rise": ("validation NLL rise", "nats"), "nll_noise": ("validation NLL noise", "nats"),
         "rises": ("rises beyond noise", "trials"), "stop_epoch": ("stopping epoch", "epochs"),
         "stopped_val_acc": ("validation accuracy at the stopping epoch", "%")}
NAMES = {"gap": "the train–validation accuracy gap", "val_acc": "validation accuracy", "nll_gap": "the NLL gap",
         "val_ece": "calibration error (ECE)", "train_acc": "train accuracy"}  # in a sentence


def scale(metric: str) -> float:
    """Factor from a stored value to its shown unit: fractions become % and pp."""
    return 100.0 if UNITS[metric][1] in ("%", "pp") else 1.0


def diff_unit(metric: str) -> str:
    return "pp" if scale(metric) == 100 else UNITS[metric][1]


def digits(metric: str) -> int:
    """Decimals shown: 2 for percentages and pp, 3 for nats, 1 for anything else (epochs)."""
    return 2 if scale(metric) == 100 else 3 if UNITS[metric][1] == "nats" else 1


def margin_kind(metric: str) -> str:
    """Which recorded equivalence margin applies: 'pp' or 'nats'."""
    return "pp" if scale(metric) == 100 else "nats"
