"""The small Android system of the simulated device: clock, packages, permissions, activities, processes, logcat."""
