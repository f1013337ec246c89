// Kernel machines: see the files of this module.
