//! Hardware profile.
