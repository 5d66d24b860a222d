"""Atienza's MNIST CNN and SimpleRNN listings (Advanced Deep Learning with Keras, ch. 1),
written against whichever Keras-like module is passed in (minikeras or real Keras)."""


def cnn(keras, dropout=0.2):
    """Conv2D 64-64-64 with 3x3 kernels, two 2x2 max pools, Dropout, Dense(10) + softmax: 80,266 params."""
    return keras.Sequential([
        keras.layers.Conv2D(64, kernel_size=3, activation="relu", input_shape=(28, 28, 1)),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, kernel_size=3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, kernel_size=3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(10),
        keras.layers.Activation("softmax"),
    ])


def rnn(keras, units=256, dropout=0.2):
    """SimpleRNN(256) over the 28 rows of an image, then Dense(10) + softmax: 75,530 params."""
    return keras.Sequential([
        keras.layers.SimpleRNN(units=units, dropout=dropout, input_shape=(28, 28)),
        keras.layers.Dense(10),
        keras.layers.Activation("softmax"),
    ])
