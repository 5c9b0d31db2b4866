//! Response optimizer.
