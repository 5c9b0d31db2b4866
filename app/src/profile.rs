//! Hardware profile wire type.
