"""Training throughput of the seed models in Keras 3 on TensorFlow (CPU),
the way the original notebook trains: Sequential, Glorot-uniform (Keras'
default), Adam (lr 1e-3, eps 1e-7), batch 32, `model.fit` on real images
shuffled each epoch; the epochs after the warm ones are timed by a callback.

    python keras_peer.py --threads 2 --data-dir DIR --images 16000 M1 M4

Prints one JSON object per model: {"peer", "model", "images_per_sec": [..],
"first_epoch_images_per_sec"}.
"""

import os
import time

import models


def build(keras, spec):
    layers = keras.layers
    dropout = spec.get("dropout", False)
    stack = [keras.Input((28, 28, 1))]
    if spec["kind"] == "cnn":
        for width in spec["conv"]:
            stack += [layers.Conv2D(width, 3, activation="relu"), layers.MaxPooling2D(2)]
            if dropout:
                stack.append(layers.Dropout(models.DROPOUT_HIDDEN))
        stack += [layers.Flatten(), layers.Dense(spec["dense"], activation="relu")]
        if dropout:
            stack.append(layers.Dropout(models.DROPOUT_LAST))
    else:
        stack.append(layers.Flatten())
        hidden = spec["hidden"]
        for index, width in enumerate(hidden):
            stack.append(layers.Dense(width, activation="relu"))
            if dropout:
                last = index == len(hidden) - 1
                stack.append(layers.Dropout(models.DROPOUT_LAST if last else models.DROPOUT_HIDDEN))
    stack.append(layers.Dense(10))
    model = keras.Sequential(stack)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=models.LEARNING_RATE, epsilon=models.EPSILON),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def measure(keras, spec, images, labels, warm, timed):
    keras.utils.set_random_seed(0)
    model = build(keras, spec)
    count = len(labels)
    rates = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            rates.append(count / (time.perf_counter() - self.started))

    model.fit(images[..., None], labels, batch_size=models.BATCH, epochs=warm + timed,
              verbose=0, shuffle=True, callbacks=[EpochTimer()])
    return rates


def main():
    args = models.peer_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    images, labels = models.training_images(args.data_dir, args.images)
    for name, spec in models.pick(args.models):
        rates = measure(keras, spec, images, labels, args.warm_epochs, args.timed_epochs)
        models.report("keras", name, rates[args.warm_epochs :], rates[0])


if __name__ == "__main__":
    main()
