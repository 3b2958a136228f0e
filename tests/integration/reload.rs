//! Hot reload and canary runs of transforms.
