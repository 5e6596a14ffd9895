"""The training wing: from a config to a trained model directory.

data.py reads and checks the training and dev files and draws each epoch's batches;
setup.py builds a run (vocabulary, model, optimizer, run directory); budget.py plans a
time budget's steps (torch-free); epoch.py trains one epoch; loop.py runs the epochs
(dev evaluation, the kept model, checkpoints, early stopping, resume); checkpoint.py
writes resumable checkpoints; records.py and messages.py say what happened, to files and
to people; calibrate.py fits the confidence temperature.
"""

from tagger.training.loop import train
from tagger.training.messages import describe_best
from tagger.training.setup import prepare_run, set_process_state

__all__ = ["describe_best", "prepare_run", "set_process_state", "train"]
