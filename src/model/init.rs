//! Keras' default initialisation: Glorot-uniform weights, zero biases.
