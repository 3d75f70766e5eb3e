//! catalog model (in progress)
