//! The ten Fashion-MNIST classes, in label order.

/// Number of classes; labels are `0..NUM_CLASSES`.
pub const NUM_CLASSES: usize = 10;

/// Class names indexed by label, as Zalando Research names them.
pub const CLASS_NAMES: [&str; NUM_CLASSES] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
