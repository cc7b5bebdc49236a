"""Process faults for local services: kill, pause, signal; targets by pid file, command line or port."""

from brownout.faults.process.driver import ProcessKillDriver, ProcessPauseDriver, ProcessSignalDriver, find_processes

__all__ = ["ProcessKillDriver", "ProcessPauseDriver", "ProcessSignalDriver", "find_processes"]
