"""GPU faults on real hardware: the `gpu.memory-hog` driver and the hog script it runs."""

from brownout.faults.gpu.driver import GpuMemoryHogDriver

__all__ = ["GpuMemoryHogDriver"]
