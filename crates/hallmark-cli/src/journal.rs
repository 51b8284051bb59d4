//! The seen journal: verified serials across runs. (Being written.)
