"""Callbacks: hooks into fit/evaluate/predict (Keras names)."""
from .callback import Callback, CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .history import History
from .lambda_callback import LambdaCallback
from .live_plot import LivePlot
from .learning_rate_scheduler import LearningRateScheduler
from .lr_finder import ExponentialLearningRate, find_learning_rate
from .model_checkpoint import ModelCheckpoint
from .monitor_callback import MonitorCallback
from .one_cycle import OneCycleScheduler
from .progbar_logger import ProgbarLogger
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .terminate_on_nan import TerminateOnNaN
from .tensorboard import TensorBoard
