"""The fixed experimental protocol. Only `label_smoothing` and `seed` vary between trials."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Protocol:
    label_smoothing: float = 0.0  # ε of CrossEntropyLoss(label_smoothing=ε): the variable under study
    seed: int = 0  # seeds the initial weights and the per-epoch shuffle order
    epochs: int = 10  # passes over the training set
    batch_size: int = 128  # training batch, reshuffled every epoch; the last batch is partial
    lr: float = 1e-3  # Adam learning rate (other Adam settings are PyTorch's defaults)
    subset: int | None = None  # None: all 50,000/10,000 images; N: a stratified sample of N train, N//5 test
    train_eval_size: int = 10_000  # fixed sample of training images scored in eval mode each epoch
    ece_bins: int = 15  # equal-width confidence bins for ECE and the reliability diagram
    precision: str = "fp32"  # math mode: "fp32" (IEEE), "tf32" (TF32 tensor cores, GPU only) or "bf16" (autocast)

    def study_attrs(self) -> dict:
        """The fields that must match for trials to be comparable (everything but ε and seed)."""
        attrs = asdict(self)
        del attrs["label_smoothing"], attrs["seed"]
        return attrs


PROTOCOL = Protocol()
# Bumped whenever a change to sweep could alter any number a trial records (training, data, metrics). A
# study continues under any sweep version with the same revision; studies from before it was recorded
# (sweep 0.3.0) are revision 1.
TRAINING_REVISION = 1
DEFAULT_EPSILONS = (0.0, 0.05, 0.1, 0.2)  # the ε grid a study samples unless told otherwise
DEFAULT_PRIMARY = "gap"  # the mission's question, the accuracy gap against ε = 0 (how a study older than it reads)

# Equivalence margins, fixed with the study before any trial runs: a difference against ε = 0 whose
# 90 % CI lies inside ±margin is "equivalent" (TOST at α = 0.05); anything else short of a
# significant difference is "inconclusive".
MARGIN_PP = 1.0  # accuracies, the accuracy gap and ECE, in percentage points
MARGIN_NATS = 0.02  # validation NLL and the NLL gap, in nats
