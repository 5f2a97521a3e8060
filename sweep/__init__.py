"""sweep: how does label smoothing change overfitting of a fixed CNN on CIFAR-10?"""

__version__ = "0.7.0"
